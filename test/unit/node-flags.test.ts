/**
 * The processor's Node options (common/node-flags.ts) are passed wherever the processor is
 * started as its own process: the container image and the `etl-processor` launcher.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROCESSOR_NODE_FLAGS } from '../../common/node-flags.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('the image CMD and the etl-processor launcher pass the processor Node options', () => {
  assert.ok(PROCESSOR_NODE_FLAGS.length > 0);
  const cmd = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('CMD '));
  assert.ok(cmd !== undefined, 'the Dockerfile has a CMD');
  const args = JSON.parse(cmd.slice(4)) as string[];
  assert.deepEqual(args, ['node', ...PROCESSOR_NODE_FLAGS, 'dist/processor/cli.js']);
  const shebang = readFileSync(join(ROOT, 'scripts/launch/etl-processor.mjs'), 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${PROCESSOR_NODE_FLAGS.join(' ')}`);
});

test('the launcher shebang starts a node that has the options (env -S splits them)', () => {
  // A script with the launcher's own first line, run as the npm bin link runs it: by the kernel.
  const dir = mkdtempSync(join(tmpdir(), 'node-flags-'));
  try {
    const script = join(dir, 'probe.mjs');
    const shebang = readFileSync(join(ROOT, 'scripts/launch/etl-processor.mjs'), 'utf8').split('\n')[0];
    writeFileSync(script, `${shebang}\nconsole.log(JSON.stringify(process.execArgv));\n`, { mode: 0o755 });
    assert.deepEqual(JSON.parse(execFileSync(script, { encoding: 'utf8' })), [...PROCESSOR_NODE_FLAGS]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
