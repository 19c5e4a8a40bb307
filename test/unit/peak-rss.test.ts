/**
 * common/peak-rss.ts: a process started by a large parent reports its own peak memory, not the
 * parent's. getrusage's maxRSS is kept across exec on Linux (the child's maxRSS shows the
 * parent's size at fork), which is why the processor reads VmHWM instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { peakRssMiB } from '../../common/peak-rss.js';

const MODULE = fileURLToPath(new URL('../../common/peak-rss.ts', import.meta.url));

test('a child of a 400 MiB parent reports its own peak, while its getrusage maxRSS shows the parent', { skip: process.platform !== 'linux' && 'Linux only (VmHWM)' }, async () => {
  // Given this process holding 400 MiB of touched memory
  const held = Array.from({ length: 400 }, () => Buffer.alloc(1024 * 1024, 1));
  assert.ok(peakRssMiB() >= 400, `this process: ${peakRssMiB()} MiB`);
  // When a child reports both figures
  const script = `import { peakRssMiB } from ${JSON.stringify(MODULE)}; console.log(JSON.stringify({ own: peakRssMiB(), maxRss: Math.round(process.resourceUsage().maxRSS / 1024) }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  const { own, maxRss } = JSON.parse(stdout) as { own: number; maxRss: number };
  // Then its own peak is a small process's, and getrusage's would have been the parent's
  assert.ok(own < 200, `child's own peak ${own} MiB`);
  assert.ok(maxRss >= 350, `child's getrusage maxRSS ${maxRss} MiB (inherited across exec)`);
  assert.equal(held.length, 400);
});
