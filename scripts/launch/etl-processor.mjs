#!/usr/bin/env -S node --initial-old-space-size=256
// Launches etl-processor from its TypeScript source through tsx's loader (a runtime dependency),
// so `npx etl-processor` works right after `npm ci` with no build step. The shebang passes the
// processor's Node options (common/node-flags.ts; `env -S` splits them).
import { register } from 'tsx/esm/api';
import { stopWhenParentEnds } from './parent-watch.mjs';

stopWhenParentEnds();
register();
await import(new URL('../../processor/cli.ts', import.meta.url).href);
