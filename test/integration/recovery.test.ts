/**
 * Recovery after a checkpoint that failed between pre-commit and persist: its uploads were sent
 * (and registered) but never committed. The next processor finds them in the upload registry,
 * tries to abort them, and writes every event exactly once.
 *
 * s3rver has no AbortMultipartUpload (it answers 405), so here the aborts are attempted and
 * reported as not done; what this test proves is the bookkeeping (which uploads are orphans) and
 * that none of them becomes visible, not S3's abort itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
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
  let dynamo: DynamoDBClient;
  const cleanup: string[] = [];
  before(async () => {
    services = await startServicesForTest();
    s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
    dynamo = new DynamoDBClient(baseClientConfig());
  });
  after(async () => {
    s3.destroy();
    dynamo.destroy();
    await services.stop();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  test('registered uploads of the failed checkpoint are found as orphans, never become visible, and every event lands once', async () => {
    // Given a processor whose first checkpoint fails right after its pre-commit
    const { stream, bucket, table } = await createPipelineResources(services, 2);
    const flags = [...s3PipelineFlags({ stream, bucket, table }), '--ApplicationName', 'recovery', '--CheckpointInterval', '3600000'];
    const crash: StartProcessorOptions['afterCheckpointPhase'] = (phase) => {
      if (phase === 'pre-commit') throw new Error('injected crash between pre-commit and persist');
    };
    const first = await startTestProcessor(flags, { afterCheckpointPhase: crash });
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, maxEvents: 300, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    await waitFor('300 records read', () => first.stats().eventsIn >= replayed.eventsSent);
    const outcome = first.done.then(() => undefined, (error: unknown) => error);
    await assert.rejects(first.checkpointNow(), /checkpoint 1 failed while pre-committing/);
    assert.match(String(await outcome), /checkpoint 1 failed while pre-committing/);

    // ... which left registered, uncommitted uploads and nothing visible
    const item = await dynamo.send(new GetItemCommand({ TableName: table, Key: { key: { S: 'recovery' } }, ConsistentRead: true }));
    const registered = item.Item?.uploads?.SS ?? [];
    assert.ok(registered.length > 0, 'the pre-commit registered its uploads');
    assert.equal(item.Item?.checkpointId, undefined, 'no checkpoint persisted');
    assert.deepEqual((await downloadPrefix(s3, bucket, 'parquet/')).keys, []);

    // When a new processor starts
    const second = await startTestProcessor(flags);
    const recovery = second.recovery();
    await waitFor('300 records read again', () => second.stats().eventsIn >= replayed.eventsSent);
    await second.stop();

    // Then every registered upload was taken for an orphan (abort attempted), the registry is empty...
    assert.ok(recovery);
    assert.deepEqual([...recovery.orphansAborted, ...recovery.orphansNotAborted].sort(), [...registered].sort());
    const after = await dynamo.send(new GetItemCommand({ TableName: table, Key: { key: { S: 'recovery' } }, ConsistentRead: true }));
    assert.equal(after.Item?.uploads, undefined);
    // ... and the output holds every event exactly once, none of the orphans' keys among it
    const output = await downloadPrefix(s3, bucket, 'parquet/');
    cleanup.push(output.dir);
    const orphanKeys = new Set(registered.map((e) => (JSON.parse(e) as string[])[1]));
    assert.ok(output.keys.every((k) => !orphanKeys.has(k)));
    const report = await readParquet([join(output.dir, 'parquet')], { distinct: ['trip_id'] });
    assert.equal(report.combined.pyarrow.rows, 300);
    assert.equal(report.combined.pyarrow.distinct?.trip_id?.length, 300);
  });
});
