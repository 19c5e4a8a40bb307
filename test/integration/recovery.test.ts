/**
 * Recovery after a checkpoint that failed between pre-commit and persist: its uploads were sent
 * but never committed, and no record of them was written anywhere. The next processor finds the
 * dead run (its heartbeat stopped), fences it, lists the run's open uploads by the run id in their
 * keys, aborts them, and writes every event exactly once. S3 is moto's server here: s3rver has
 * neither ListMultipartUploads nor AbortMultipartUpload, so on it this would prove nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { listOpenUploads } from '../../processor/sinks/s3/multipart.js';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import type { StartProcessorOptions } from '../../processor/processor.js';
import { replay } from '../../replay/replay.js';
import { createPipelineResources, downloadPrefix, startServicesForTest, waitFor } from '../support/local.js';
import { readParquet } from '../support/parquet.js';
import { s3PipelineFlags, startTestProcessor } from '../support/processor.js';
import { SAMPLE_CSV } from '../support/sample.js';

const quiet = createLogger('test', { level: 'silent' });

describe('recovery from a checkpoint that never persisted', () => {
  let services: LocalServices;
  let s3: S3Client;
  const cleanup: string[] = [];
  before(async () => {
    services = await startServicesForTest({ s3: 'moto' });
    s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
  });
  after(async () => {
    s3.destroy();
    await services.stop();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  test('the uploads of the failed checkpoint are aborted by the next run, never become visible, and every event lands once', async () => {
    // Given a processor whose first checkpoint fails right after its pre-commit
    const { stream, bucket, table } = await createPipelineResources(services, 2);
    const flags = [...s3PipelineFlags({ stream, bucket, table }), '--ApplicationName', 'recovery', '--CheckpointInterval', '3600000', '--LeaseDuration', '3000'];
    const crash: StartProcessorOptions['afterCheckpointPhase'] = (phase) => {
      if (phase === 'pre-commit') throw new Error('injected crash between pre-commit and persist');
    };
    const first = await startTestProcessor(flags, { afterCheckpointPhase: crash });
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, maxEvents: 300, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    await waitFor('300 records read', () => first.stats().eventsIn >= replayed.eventsSent);
    const outcome = first.done.then(() => undefined, (error: unknown) => error);
    await assert.rejects(first.checkpointNow(), /checkpoint 1 failed while pre-committing/);
    assert.match(String(await outcome), /checkpoint 1 failed while pre-committing/);

    // ... which left open uploads named by its run, and nothing visible
    const orphans = await listOpenUploads(s3, bucket, '');
    assert.ok(orphans.length > 0, 'the pre-commit left open uploads');
    assert.ok(orphans.every((u) => u.key.includes(`part-${first.runId}-`)), 'every open upload names the run');
    assert.deepEqual((await downloadPrefix(s3, bucket, 'parquet/')).keys, []);

    // When a new processor starts
    const second = await startTestProcessor(flags);
    await waitFor('300 records read again', () => second.stats().eventsIn >= replayed.eventsSent, 120_000);
    await second.stop();

    // Then the dead run was cleaned up: its uploads aborted, none left open...
    const recovery = second.recovery();
    assert.equal(recovery.deadRuns, 1);
    assert.equal(recovery.leftoversAborted, orphans.length);
    assert.deepEqual(await listOpenUploads(s3, bucket, ''), []);
    // ... and the output holds every event exactly once, none of the orphans' keys among it
    const output = await downloadPrefix(s3, bucket, 'parquet/');
    cleanup.push(output.dir);
    const orphanKeys = new Set(orphans.map((u) => u.key));
    assert.ok(output.keys.every((k) => !orphanKeys.has(k)));
    const report = await readParquet([join(output.dir, 'parquet')], { distinct: ['trip_id'] });
    assert.equal(report.combined.pyarrow.rows, 300);
    assert.equal(report.combined.pyarrow.distinct?.trip_id?.length, 300);
  });
});
