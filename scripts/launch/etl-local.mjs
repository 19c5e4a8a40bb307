#!/usr/bin/env node
// Launches etl-local from its TypeScript source through tsx's loader (a runtime dependency),
// so `npx etl-local` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';
import { stopWhenParentEnds } from './parent-watch.mjs';

stopWhenParentEnds();
register();
await import(new URL('../../local/cli.ts', import.meta.url).href);
