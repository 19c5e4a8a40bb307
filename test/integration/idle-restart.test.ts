/**
 * Restart after idle: a processor (the CLI) that starts at LATEST and is stopped before any record
 * arrives checkpoints its shards as `AT_TIMESTAMP:<start>`. Started again, it must read what
 * arrives afterwards — exactly once, and nothing that arrived before the first start — even though
 * the local Kinesis (kinesalite) never answers an AT_TIMESTAMP GetShardIterator when nothing
 * arrived since that time; and SIGTERM must still end in a final checkpoint. The processors run
 * with a full garbage collection every second (test/support/gc-often.mjs): the probe's 10 s
 * deadline once did not survive a collection (AbortSignal.any on Node 20) and waited 120 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import type { LocalServices } from '../../local/services.js';
import { startCliProcessor, type CliProcessor } from '../support/cli-processor.js';
import { createPipelineResources, downloadPrefix, startServicesForTest, waitFor } from '../support/local.js';
import { readParquet } from '../support/parquet.js';
import { Producer } from '../support/scale-out.js';

const SHARDS = 2;
const GC_OFTEN = resolve(dirname(fileURLToPath(import.meta.url)), '../support/gc-often.mjs');

/** Waits until the processor logged `reading shard` once per shard. */
async function readingAllShards(processor: CliProcessor): Promise<readonly string[]> {
  await waitFor('the processor to start reading every shard', () => processor.find('reading shard').length >= SHARDS, 60_000);
  return processor.find('reading shard').map((l) => String(l.from));
}

describe('restart after a stop with no records', () => {
  let services: LocalServices;
  let s3: S3Client;
  let kinesis: KinesisClient;
  const cleanup: string[] = [];
  before(async () => {
    services = await startServicesForTest();
    s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
    kinesis = new KinesisClient(baseClientConfig());
  });
  after(async () => {
    s3.destroy();
    kinesis.destroy();
    await services.stop();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  test('a shard checkpointed at AT_TIMESTAMP with no record since resumes, reads exactly what arrives later, and stops with a final checkpoint', async () => {
    // Given a stream holding events from before the processor first started (LATEST: never read)
    const { stream, bucket, table } = await createPipelineResources(services, SHARDS);
    const producer = new Producer(kinesis, stream);
    await producer.put(Array.from({ length: 40 }, (_, i) => i));
    const env = {
      ...services.env,
      InputKinesisStream: stream,
      InputStreamInitalPosition: 'LATEST',
      OutputBucket: bucket,
      CheckpointTable: table,
      CheckpointInterval: '1000',
      StatusInterval: '200',
      ApplicationName: 'idle-restart-test',
      NODE_OPTIONS: `--expose-gc --import ${GC_OFTEN}`,
    };

    // And a first run stopped before any record arrived
    const first = startCliProcessor(env);
    await readingAllShards(first);
    await waitFor('a checkpoint of the first run', () => first.find('checkpoint committed').length > 0);
    first.kill('SIGTERM');
    const firstRun = await first.exited;
    assert.equal(firstRun.code, 0, JSON.stringify(firstRun.lines.slice(-5)));

    // When the processor starts again and events arrive once it is resuming its shards
    const second = startCliProcessor(env);
    const from = await readingAllShards(second);
    assert.ok(
      from.every((p) => p.startsWith('AT_TIMESTAMP:')),
      `the second run resumes every shard from the first run's start time: ${from.join(', ')}`,
    );
    const later = Array.from({ length: 60 }, (_, i) => 1000 + i);
    await producer.put(later);
    await waitFor('the second run to read the events that arrived after its restart', () => second.eventsIn() >= later.length, 90_000).catch((error: unknown) => {
      second.kill('SIGKILL');
      const notable = second.lines.filter((l) => l.level === 'warn' || l.level === 'error');
      throw new Error(`${String(error)}; eventsIn ${second.eventsIn()}; warnings and errors: ${JSON.stringify(notable.slice(-10))}`);
    });

    // Then SIGTERM ends it with a final checkpoint
    second.kill('SIGTERM');
    const secondRun = await second.exited;
    assert.equal(secondRun.code, 0, JSON.stringify(secondRun.lines.slice(-5)));
    const signalAt = secondRun.lines.findIndex((l) => l.msg === 'signal received: stopping');
    assert.ok(signalAt >= 0, 'the second run logged the signal');
    assert.ok(
      secondRun.lines.slice(signalAt).some((l) => l.msg === 'checkpoint committed'),
      'a checkpoint was committed after the signal',
    );
    const stopped = secondRun.lines.find((l) => l.msg === 'stopped') as { eventsIn?: number } | undefined;
    assert.equal(stopped?.eventsIn, later.length, 'the second run read only the events that arrived after the first start');

    // And the output holds exactly the later events, once each
    const { dir } = await downloadPrefix(s3, bucket, 'parquet/');
    cleanup.push(dir);
    const report = await readParquet([join(dir, 'parquet')], { values: ['trip_id'] });
    const ids = (report.combined.pyarrow.values?.trip_id ?? []).map(Number).sort((a, b) => a - b);
    assert.deepEqual(ids, later);
  });
});
