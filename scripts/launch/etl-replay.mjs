#!/usr/bin/env node
// Launches etl-replay from its TypeScript source through tsx's loader (a runtime dependency),
// so `npx etl-replay` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';
import { stopWhenParentEnds } from './parent-watch.mjs';

stopWhenParentEnds();
register();
await import(new URL('../../replay/cli.ts', import.meta.url).href);
