/**
 * What the processor CLI checks before it reads anything: a configuration it cannot run with exits
 * 2 with the property, the value and the reason (not exit 1, which on ECS is a restart loop): a bad
 * `EventSchema` file, an `OutputPartitionTemplate` naming a field the schema lacks, an
 * `OutputBucket` that does not exist.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalServices } from '../../local/services.js';
import { startCliProcessor, type CliExit } from '../support/cli-processor.js';
import { createPipelineResources, startServicesForTest, uniqueName } from '../support/local.js';

/** The processor's stderr as one text (its log lines and the CLI's last message). */
function stderrOf(exit: CliExit): string {
  return exit.lines.map((l) => (typeof l.text === 'string' ? l.text : JSON.stringify(l))).join('\n');
}

/** Runs the processor CLI with `env` until it exits; one that keeps running is stopped and reported. */
async function runUntilExit(env: Record<string, string>): Promise<CliExit> {
  const cli = startCliProcessor(env);
  const timer = setTimeout(() => cli.kill('SIGKILL'), 60_000);
  const exit = await cli.exited;
  clearTimeout(timer);
  return exit;
}

describe('processor start-up checks', () => {
  let services: LocalServices;
  let dir: string;
  let base: Record<string, string>;
  before(async () => {
    services = await startServicesForTest();
    dir = await mkdtemp(join(tmpdir(), 'etl-startup-'));
    const { stream, bucket, table } = await createPipelineResources(services, 1);
    base = { ...services.env, InputKinesisStream: stream, OutputBucket: bucket, CheckpointTable: table, ApplicationName: 'startup-checks' };
  });
  after(async () => {
    await services.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a schema file that is not a schema exits 2 naming EventSchema, the file and the reason', async () => {
    // Given a schema file whose fields are not a list
    const path = join(dir, 'bad-schema.json');
    await writeFile(path, JSON.stringify({ name: 'Broken', fields: 3 }));
    // When the processor starts with it
    const exit = await runUntilExit({ ...base, EventSchema: path });
    // Then it exits 2 naming the property, the value and the reason
    assert.equal(exit.code, 2, stderrOf(exit));
    assert.match(stderrOf(exit), new RegExp(`EventSchema "${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" \\(from environment\\): .*fields`));
  });

  test('a partition template naming a field the schema lacks exits 2 naming OutputPartitionTemplate, the template and the field', async () => {
    const exit = await runUntilExit({ ...base, OutputPartitionTemplate: 'zone={no_such_field}/' });
    assert.equal(exit.code, 2, stderrOf(exit));
    assert.match(stderrOf(exit), /OutputPartitionTemplate "zone=\{no_such_field\}\/" \(from environment\): .*no_such_field/);
  });

  test('an output bucket that does not exist exits 2 naming OutputBucket and the bucket', async () => {
    const missing = uniqueName('missing');
    const exit = await runUntilExit({ ...base, OutputBucket: missing });
    assert.equal(exit.code, 2, stderrOf(exit));
    assert.match(stderrOf(exit), new RegExp(`OutputBucket "${missing}" \\(from environment\\): bucket "${missing}" does not exist`));
  });
});
