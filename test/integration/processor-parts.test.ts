/**
 * The processor's parts against real local servers: the DynamoDB checkpoint store's fencing
 * (dynalite enforces conditional writes), the Kinesis source across a reshard (kinesalite splits
 * and merges shards), and the idempotent completion of S3 multipart uploads (s3rver).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  ProvisionedThroughputExceededException,
  KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import { DynamoDbCheckpointStore } from '../../processor/checkpoint/dynamodb-store.js';
import { FencedError } from '../../processor/checkpoint/errors.js';
import { SHARD_END } from '../../processor/checkpoint/types.js';
import { completeUpload, uploadUncommitted } from '../../processor/sinks/s3/multipart.js';
import { KinesisSource } from '../../processor/sources/kinesis/kinesis-source.js';
import { readShard } from '../../processor/sources/kinesis/shard-reader.js';
import type { SourceBatch } from '../../processor/sources/types.js';
import { startServicesForTest, uniqueName, waitFor } from '../support/local.js';

const log = createLogger('test', { level: 'silent' });


async function waitActive(kinesis: KinesisClient, stream: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${stream} did not become ACTIVE`);
}

async function put(kinesis: KinesisClient, stream: string, values: readonly string[], key: string): Promise<void> {
  const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: values.map((v) => ({ Data: Buffer.from(v), PartitionKey: key })) }));
  assert.equal(out.FailedRecordCount, 0);
}

describe('processor parts on local servers', () => {
  let services: LocalServices;
  let kinesis: KinesisClient;
  let s3: S3Client;
  before(async () => {
    services = await startServicesForTest();
    kinesis = new KinesisClient(baseClientConfig());
    s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
  });
  after(async () => {
    kinesis.destroy();
    s3.destroy();
    await services.stop();
  });

  describe('DynamoDbCheckpointStore', () => {
    test('keeps the checkpoint, and fences a worker whose lease was taken over', async () => {
      // Given a table and a first worker holding the lease
      const table = uniqueName('ckpt');
      await services.createTable(table);
      const store = new DynamoDbCheckpointStore({ table, key: 'app' });
      const first = await store.acquire('w1');
      assert.equal(first.lease.counter, 1);
      assert.equal(first.last, undefined);
      const pending = { s3: { uploads: Array.from({ length: 300 }, (_, i) => ({ key: `parquet/p=${i}/part-${i}.parquet`, uploadId: 'x'.repeat(64) })) } };
      await store.persist(first.lease, { checkpointId: 1, positions: { 'shardId-0': '4950' }, pending, createdAtMs: 1 });

      // When a second worker takes over
      const second = await store.acquire('w2');

      // Then it sees the first one's checkpoint (large pending state included), and the first is fenced
      assert.equal(second.lease.counter, 2);
      assert.deepEqual(second.last?.positions, { 'shardId-0': '4950' });
      assert.deepEqual(second.last?.pending, pending);
      await assert.rejects(store.persist(first.lease, { checkpointId: 2, positions: {}, pending: {}, createdAtMs: 2 }), FencedError);
      // ... and a checkpoint id that does not advance is refused too
      await assert.rejects(store.persist(second.lease, { checkpointId: 1, positions: {}, pending: {}, createdAtMs: 3 }), FencedError);
      await store.persist(second.lease, { checkpointId: 2, positions: { 'shardId-0': '5000' }, pending: {}, createdAtMs: 4 });
      assert.deepEqual((await store.acquire('w3')).last?.positions, { 'shardId-0': '5000' });
      await store.close();
    });
    test('keeps the upload registry under the same lease', async () => {
      // Given a worker holding the lease, with two uploads registered and one forgotten
      const table = uniqueName('ckpt');
      await services.createTable(table);
      const store = new DynamoDbCheckpointStore({ table, key: 'app' });
      const { lease } = await store.acquire('w1');
      await store.registerUploads(lease, ['["b","k1","u1"]', '["b","k2","u2"]']);
      await store.forgetUploads(lease, ['["b","k1","u1"]']);

      // When another worker takes over, it sees what is left, and the first can no longer register
      const next = await store.acquire('w2');
      assert.deepEqual(next.registeredUploads, ['["b","k2","u2"]']);
      await assert.rejects(store.registerUploads(lease, ['["b","k3","u3"]']), FencedError);
      await store.forgetUploads(next.lease, next.registeredUploads);
      assert.deepEqual((await store.acquire('w3')).registeredUploads, []);
      await store.close();
    });
  });

  describe('KinesisSource', () => {
    test('reads a parent shard to its end before its children, after a split and a merge', async () => {
      // Given a one-shard stream with records, split in two, more records, merged back, more records
      const stream = uniqueName('reshard');
      await services.createStream(stream, 1);
      await put(kinesis, stream, ['a1', 'a2', 'a3'], 'k');
      const [parent] = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
      await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: parent!.ShardId, NewStartingHashKey: (2n ** 127n).toString() }));
      await waitActive(kinesis, stream);
      await put(kinesis, stream, ['b1', 'b2'], 'k');
      const children = ((await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? []).filter((s) => s.ParentShardId === parent!.ShardId);
      assert.equal(children.length, 2);
      await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: children[0]!.ShardId, AdjacentShardToMerge: children[1]!.ShardId }));
      await waitActive(kinesis, stream);
      await put(kinesis, stream, ['c1'], 'k');

      // When the source reads from TRIM_HORIZON
      const batches: SourceBatch[] = [];
      const source = new KinesisSource({ streamName: stream, initialPosition: { type: 'TRIM_HORIZON' }, log, shardDiscoveryIntervalMs: 200, limits: { idleIntervalMs: 50, minCallIntervalMs: 10 } });
      await source.start({}, async (batch) => {
        batches.push(batch);
      });
      const values = (): string[] => batches.flatMap((b) => b.records.map((r) => Buffer.from(r.data).toString()));
      await waitFor('all six records', () => values().length >= 6);
      await source.stop();

      // Then every record was read once, each generation after the one before it
      assert.deepEqual(values(), ['a1', 'a2', 'a3', 'b1', 'b2', 'c1']);
      const ended = batches.filter((b) => b.position === SHARD_END).map((b) => b.shard);
      assert.ok(ended.includes(parent!.ShardId!), 'the parent was read to its end');
      assert.ok(children.every((c) => ended.includes(c.ShardId!)), 'both children were read to their end');
    });

    test('resumes after the checkpointed position and skips shards read to their end', async () => {
      // Given a stream with records, and positions saying the first two of shard 0 were handled
      const stream = uniqueName('resume');
      await services.createStream(stream, 1);
      await put(kinesis, stream, ['r1', 'r2', 'r3', 'r4'], 'k');
      const first: SourceBatch[] = [];
      const reader = new KinesisSource({ streamName: stream, initialPosition: { type: 'TRIM_HORIZON' }, log, limits: { idleIntervalMs: 50 } });
      await reader.start({}, async (b) => {
        first.push(b);
      });
      await waitFor('four records', () => first.flatMap((b) => b.records).length >= 4);
      await reader.stop();
      const records = first.flatMap((b) => b.records);
      const shard = records[0]!.origin.shard;

      // When a new source starts from the second record's position
      const resumed: SourceBatch[] = [];
      const source = new KinesisSource({ streamName: stream, initialPosition: { type: 'LATEST' }, log, limits: { idleIntervalMs: 50 } });
      await source.start({ [shard]: records[1]!.origin.position }, async (b) => {
        resumed.push(b);
      });
      await waitFor('two records', () => resumed.flatMap((b) => b.records).length >= 2);
      await new Promise((r) => setTimeout(r, 200));
      await source.stop();

      // Then it reads only what came after (LATEST does not apply to a checkpointed shard)
      assert.deepEqual(resumed.flatMap((b) => b.records.map((r) => Buffer.from(r.data).toString())), ['r3', 'r4']);
      assert.equal(resumed[0]!.position, records[1]!.origin.position, 'the first hand-over repeats the resumed position');
    });

    test('backs off when GetRecords is throttled, then reads on', async () => {
      // Given a shard with records, and a client on which the first two GetRecords calls are throttled
      const stream = uniqueName('throttle');
      await services.createStream(stream, 1);
      await put(kinesis, stream, ['t1', 't2'], 'k');
      const shardId = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards![0]!.ShardId!;
      let throttled = 0;
      const calls: number[] = [];
      const client = new Proxy(kinesis, {
        get(target, prop, receiver) {
          if (prop !== 'send') return Reflect.get(target, prop, receiver);
          return async (command: unknown, options?: unknown) => {
            if (command instanceof GetRecordsCommand) {
              calls.push(Date.now());
              if (throttled < 2) {
                throttled += 1;
                throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded for shard', $metadata: {} });
              }
            }
            return (target.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
          };
        },
      });
      const abort = new AbortController();
      const batches: SourceBatch[] = [];

      // When the shard is read
      const reading = readShard({
        client,
        streamName: stream,
        shardId,
        start: { ShardIteratorType: 'TRIM_HORIZON' },
        startPosition: 'TRIM_HORIZON',
        emit: async (b) => {
          batches.push(b);
        },
        signal: abort.signal,
        log,
        limits: { maxRecordsPerCall: 10_000, minCallIntervalMs: 10, idleIntervalMs: 50 },
        onLag: () => undefined,
      });
      await waitFor('the records', () => batches.flatMap((b) => b.records).length >= 2);
      abort.abort();
      assert.equal(await reading, 'stopped');

      // Then both throttles were waited out with a growing backoff, and the records arrived once
      assert.equal(throttled, 2);
      assert.deepEqual(batches.flatMap((b) => b.records.map((r) => Buffer.from(r.data).toString())), ['t1', 't2']);
      assert.ok(calls[1]! - calls[0]! >= 125, `first backoff ${calls[1]! - calls[0]!} ms`);
      assert.ok(calls[2]! - calls[1]! >= 250, `second backoff ${calls[2]! - calls[1]!} ms`);
    });

    test('LATEST reads only what is written after the start', async () => {
      const stream = uniqueName('latest');
      await services.createStream(stream, 2);
      await put(kinesis, stream, ['old'], 'k');
      const batches: SourceBatch[] = [];
      const source = new KinesisSource({ streamName: stream, initialPosition: { type: 'LATEST' }, log, limits: { idleIntervalMs: 50 } });
      await source.start({}, async (b) => {
        batches.push(b);
      });
      await waitFor('both shards started', () => new Set(batches.map((b) => b.shard)).size === 2);
      await new Promise((r) => setTimeout(r, 300));
      await put(kinesis, stream, ['new'], 'k');
      await waitFor('the new record', () => batches.some((b) => b.records.length > 0));
      await source.stop();
      assert.deepEqual(batches.flatMap((b) => b.records.map((r) => Buffer.from(r.data).toString())), ['new']);
      assert.ok(batches.filter((b) => b.records.length === 0).every((b) => b.position.startsWith('AT_TIMESTAMP:')), 'start sentinels resume at the start time');
    });
  });

  describe('S3 multipart two-phase commit', () => {
    test('an uncommitted upload is invisible; completing it twice is harmless', async () => {
      // Given a file uploaded as an uncommitted multipart upload of more than one part
      const bucket = uniqueName('mpu');
      await services.createBucket(bucket);
      const body = new Uint8Array(9 * 1024 * 1024).fill(7);
      const pending = await uploadUncommitted(s3, { bucket, key: 'parquet/part-1.parquet', contentType: 'application/octet-stream', records: 3 }, body);
      assert.equal(pending.parts.length, 2);
      await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'parquet/part-1.parquet' })));

      // When it is completed, and completed again as a recovery would
      assert.equal(await completeUpload(s3, pending), 'completed');
      assert.equal(await completeUpload(s3, pending, true), 'already-completed');

      // Then the object exists, whole
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'parquet/part-1.parquet' }));
      assert.equal(head.ContentLength, body.byteLength);
    });
  });
});
