/**
 * The processor's parts against real local servers: the DynamoDB lease store's transactions and
 * fencing (moto's DynamoDB enforces conditions and TransactWriteItems), the Kinesis source across a
 * reshard (kinesalite splits and merges shards), and the idempotent completion of S3 multipart
 * uploads (s3rver).
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
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteItemCommand, DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import { DynamoDbLeaseStore, INLINE_STATE_MAX_BYTES } from '../../processor/checkpoint/dynamodb-store.js';
import { MemoryLeaseStore } from '../../processor/checkpoint/memory-store.js';
import { FencedError } from '../../processor/checkpoint/errors.js';
import { SHARD_END } from '../../processor/checkpoint/types.js';
import { leaseTimings } from '../../processor/checkpoint/lease-manager.js';
import { completeUpload, uploadUncommitted } from '../../processor/sinks/s3/multipart.js';
import { createS3Client } from '../../processor/sinks/s3/s3-sink.js';
import { readShard, recordsPerCall } from '../../processor/sources/kinesis/shard-reader.js';
import type { SourceBatch } from '../../processor/sources/types.js';
import { startServicesForTest, uniqueName, waitFor } from '../support/local.js';
import { runKinesisSource } from '../support/source-harness.js';

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

  describe('DynamoDbLeaseStore', () => {
    test('a checkpoint is one transaction across leases; a run that lost one lease or was declared dead persists nothing', async () => {
      // Given a table and run w1 holding two leases
      const table = uniqueName('leases');
      await services.createTable(table);
      const store = new DynamoDbLeaseStore({ table, application: 'app' });
      await store.registerRun('w1');
      assert.ok(await store.createLease('s1', [], 'TRIM_HORIZON'));
      assert.ok(await store.createLease('s2', ['s0'], 'TRIM_HORIZON'));
      assert.equal(await store.createLease('s1', [], 'LATEST'), false, 'a lease is created once');
      const [l1, l2] = await store.listLeases();
      const h1 = (await store.takeLease(l1!, 'w1'))!.held;
      const h2 = (await store.takeLease(l2!, 'w1'))!.held;
      assert.equal(await store.takeLease(l1!, 'w2'), undefined, 'a stale observation cannot take the lease');

      // When w1 checkpoints with a large pending state
      const pending = { s3: { uploads: Array.from({ length: 300 }, (_, i) => ({ key: `parquet/p=${i}/part-w1-${i}.parquet`, uploadId: 'x'.repeat(64) })) } };
      const ref = await store.persist('w1', 1, [{ lease: h1, position: '10' }, { lease: h2, position: '20' }], pending);

      // Then both leases name the commit record, which holds the pending state
      const leases = await store.listLeases();
      assert.deepEqual(leases.map((l) => [l.partition, l.owner, l.checkpoint, l.pendingRef]), [['s1', 'w1', '10', ref], ['s2', 'w1', '20', ref]]);
      assert.deepEqual(leases[1]!.parents, ['s0']);
      assert.deepEqual((await store.loadCommit(ref!))?.pending, pending);

      // When w1's renewal keeps its counters moving and w2 takes s2 over
      await store.heartbeatRun('w1');
      await store.renewLease(h1, 'w1');
      assert.ok(await store.takeLease((await store.listLeases())[1]!, 'w2'));
      await assert.rejects(store.renewLease(h2, 'w1'), FencedError);

      // Then w1 cannot persist either lease: the whole transaction is refused, and s1 kept its position
      await assert.rejects(store.persist('w1', 2, [{ lease: h1, position: '11' }, { lease: h2, position: '21' }], pending), /leases taken over by another worker: s2/);
      assert.equal((await store.listLeases())[0]!.checkpoint, '10');
      assert.equal((await store.listCommits('w1')).length, 1);

      // And a run declared dead cannot persist even the lease it still holds
      const [run] = await store.listRuns();
      assert.ok(await store.fenceRun('w1', run!.counter));
      assert.equal(await store.fenceRun('w1', run!.counter), false, 'a second fence of the same observation fails: one run cleans up');
      await assert.rejects(store.persist('w1', 3, [{ lease: h1, position: '12' }], undefined), /declared dead/);
      await assert.rejects(store.heartbeatRun('w1'), FencedError);
      await store.markCommitted(ref!);
      assert.equal((await store.loadCommit(ref!))?.committed, true);
      await store.close();
    });

    test('a checkpoint of 10,000 uploads (S3-length upload ids) persists within the 400 KB item limit and loads back whole; a missing chunk is refused', async () => {
      // Given a run holding one lease, and the pending state of 10,000 part files: upload ids and
      // ETags as random as S3's, which gzip barely shrinks (about 0.7 MB gzip'd)
      const table = uniqueName('leases');
      await services.createTable(table);
      const store = new DynamoDbLeaseStore({ table, application: 'app' });
      await store.registerRun('w1');
      await store.createLease('s1', [], 'TRIM_HORIZON');
      const held = (await store.takeLease((await store.listLeases())[0]!, 'w1'))!.held;
      const uploads = Array.from({ length: 10_000 }, (_, i) => ({
        bucket: 'streaming-etl-output-123456789012',
        key: `trips/pickup_location=${String(i % 265).padStart(3, '0')}/year=2018/month=${String(1 + (i % 12)).padStart(2, '0')}/part-w1-${i}.parquet`,
        uploadId: randomBytes(96).toString('base64url'),
        parts: [{ PartNumber: 1, ETag: `"${randomBytes(16).toString('hex')}"` }],
        records: 2000 + i,
        bytes: 30_000 + i,
      }));
      const pending = { s3: { uploads } };

      // When it checkpoints
      const ref = await store.persist('w1', 1, [{ lease: held, position: '10' }], pending);

      // Then every item of the table is below DynamoDB's 400 KB (names and values counted), the state is in chunks,
      // and the record loads back equal, by reference and in the run's list (chunks are not records)
      const dynamo = new DynamoDBClient(baseClientConfig());
      const items = (await dynamo.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];
      const size = (item: Record<string, AttributeValue>): number =>
        Object.entries(item).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + (v.B ? v.B.length : Buffer.byteLength(v.S ?? v.N ?? JSON.stringify(v))), 0);
      const chunks = items.filter((i) => i['leaseKey']?.S?.startsWith('chunk/'));
      assert.ok(chunks.length >= 2, `the state is chunked (${chunks.length} chunks)`);
      for (const item of items) assert.ok(size(item) < 400 * 1024, `${item['leaseKey']?.S} has ${size(item)} bytes`);
      assert.ok(chunks.every((c) => Number(c['expiresAt']?.N) > Date.now() / 1000 + 7 * 24 * 3600), 'chunks outlive an incomplete upload (7 days)');
      assert.deepEqual((await store.loadCommit(ref!))?.pending, pending);
      const listed = await store.listCommits('w1');
      assert.equal(listed.length, 1);
      assert.deepEqual(listed[0]?.pending, pending);
      assert.equal((await store.listLeases())[0]?.pendingRef, ref);

      // And a small state stays in the record itself
      const small = await store.persist('w1', 2, [{ lease: held, position: '11' }], { s3: { uploads: uploads.slice(0, 10) } });
      assert.equal(INLINE_STATE_MAX_BYTES < 400 * 1024, true);
      assert.equal(((await dynamo.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? []).filter((i) => i['leaseKey']?.S?.startsWith('chunk/')).length, chunks.length, 'no chunk for a small state');
      assert.deepEqual((await store.loadCommit(small!))?.pending, { s3: { uploads: uploads.slice(0, 10) } });

      // When one chunk is lost, the record is refused naming what is missing, not read short
      await dynamo.send(new DeleteItemCommand({ TableName: table, Key: { application: chunks[1]!['application']!, leaseKey: chunks[1]!['leaseKey']! } }));
      await assert.rejects(store.loadCommit(ref!), /names \d+ chunks of \d+ bytes in all, but \d+ chunks/);
      dynamo.destroy();
      await store.close();
    });

    test('a take request reaches the owner at its next renewal; a released lease is free', async () => {
      const table = uniqueName('leases');
      await services.createTable(table);
      const store = new DynamoDbLeaseStore({ table, application: 'app' });
      await store.createLease('s1', [], 'TRIM_HORIZON');
      const held = (await store.takeLease((await store.listLeases())[0]!, 'w1'))!.held;
      assert.ok(await store.requestTake('s1', 'w1', 'w2'));
      assert.equal(await store.requestTake('s1', 'w1', 'w3'), false, 'one request at a time');
      assert.deepEqual(await store.renewLease(held, 'w1'), { takeRequestedBy: 'w2' });
      await store.releaseLease(held, 'w1');
      const [free] = await store.listLeases();
      assert.equal(free?.owner, undefined);
      assert.equal(free?.takeRequestedBy, undefined);
      assert.ok(await store.takeLease(free!, 'w2'));
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
      const run = await runKinesisSource({ streamName: stream, initialPosition: { type: 'TRIM_HORIZON' }, shardDiscoveryIntervalMs: 200, limits: { idleIntervalMs: 50, minCallIntervalMs: 10 } });
      await waitFor('all six records', () => run.texts().length >= 6, 30_000);
      await run.stop();

      // Then every record was read once, each generation after the one before it
      assert.deepEqual(run.texts(), ['a1', 'a2', 'a3', 'b1', 'b2', 'c1']);
      const leases = await run.store.listLeases();
      const ended = leases.filter((l) => l.checkpoint === SHARD_END).map((l) => l.partition);
      assert.ok(ended.includes(parent!.ShardId!), 'the parent was read to its end');
      assert.ok(children.every((c) => ended.includes(c.ShardId!)), 'both children were read to their end');
      const merged = leases.find((l) => l.parents.length === 2);
      assert.deepEqual([...(merged?.parents ?? [])].sort(), children.map((c) => c.ShardId!).sort(), 'the merged shard names both parents');
    });

    test('with 16 shards, a shard asks for its share of the bytes in flight once its record size is known', async () => {
      // Given a 16-shard stream, and a client that notes the Limit of every GetRecords call
      const stream = uniqueName('limit');
      await services.createStream(stream, 16);
      const client = new KinesisClient(baseClientConfig());
      const limits: number[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'GetRecordsCommand') limits.push((args.input as { Limit?: number }).Limit ?? -1);
          return next(args);
        },
        { step: 'initialize', name: 'noteGetRecordsLimit' },
      );
      const record = (i: number): string => `${String(i).padStart(6, '0')}${'x'.repeat(2042)}`; // 2,048 bytes
      await put(kinesis, stream, [record(0)], 'k');
      // When the source has read the first record (so its shard knows the record size), and 2,000 more arrive at once
      const run = await runKinesisSource({ client, streamName: stream, initialPosition: { type: 'TRIM_HORIZON' }, shardDiscoveryIntervalMs: 200, limits: { idleIntervalMs: 3000, minCallIntervalMs: 10 } });
      await waitFor('the first record', () => run.texts().length >= 1, 30_000);
      for (let i = 0; i < 4; i += 1) await put(kinesis, stream, Array.from({ length: 500 }, (_, j) => record(1 + i * 500 + j)), 'k');
      await waitFor('2,001 records', () => run.texts().length >= 2001, 60_000);
      await run.stop();
      client.destroy();
      // Then every record was read once, in order, and that shard asked for 416 records a call
      // (max(2 MiB / 2.5, 13 MiB / 16) bytes over 2,048 bytes), not for the service's 10,000
      assert.deepEqual(run.texts(), Array.from({ length: 2001 }, (_, i) => record(i)));
      const expected = recordsPerCall(10_000, 16, 2048);
      assert.equal(expected, 416);
      assert.ok(limits.filter((l) => l === expected).length >= 5, `calls with Limit ${expected}: ${limits.filter((l) => l === expected).length} of ${limits.length}`);
      assert.deepEqual([...new Set(limits)].sort((a, b) => a - b), [expected, 10_000]);
    });

    test('a second run resumes after the checkpoint of the first', async () => {
      // Given a stream with records, read by a first run that stopped after a final checkpoint
      const stream = uniqueName('resume');
      await services.createStream(stream, 1);
      await put(kinesis, stream, ['r1', 'r2'], 'k');
      const store = new MemoryLeaseStore();
      const first = await runKinesisSource({ streamName: stream, initialPosition: { type: 'TRIM_HORIZON' }, limits: { idleIntervalMs: 50 } }, store, 'first');
      await waitFor('two records', () => first.texts().length >= 2);
      await first.stop();
      await put(kinesis, stream, ['r3', 'r4'], 'k');

      // When a second run starts on the same lease table (LATEST does not apply to a checkpointed shard)
      const second = await runKinesisSource({ streamName: stream, initialPosition: { type: 'LATEST' }, limits: { idleIntervalMs: 50 } }, store, 'second');
      await waitFor('two more records', () => second.texts().length >= 2);
      await new Promise((r) => setTimeout(r, 200));
      await second.stop();

      // Then it read only what came after
      assert.deepEqual(first.texts(), ['r1', 'r2']);
      assert.deepEqual(second.texts(), ['r3', 'r4']);
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
        limits: { maxRecordsPerCall: 10_000, minCallIntervalMs: 10, idleIntervalMs: 50, callTimeoutMs: 30_000 },
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

    test('LATEST reads only what is written after the start, and stores the start as a sentinel', async () => {
      const stream = uniqueName('latest');
      await services.createStream(stream, 2);
      await put(kinesis, stream, ['old'], 'k');
      const run = await runKinesisSource({ streamName: stream, initialPosition: { type: 'LATEST' }, limits: { idleIntervalMs: 50 } });
      await new Promise((r) => setTimeout(r, 500));
      await put(kinesis, stream, ['new'], 'k');
      await waitFor('the new record', () => run.texts().length > 0);
      const leases = await run.store.listLeases();
      await run.stop();
      assert.deepEqual(run.texts(), ['new']);
      assert.equal(leases.length, 2);
      assert.ok(leases.every((l) => l.checkpoint.startsWith('AT_TIMESTAMP:') || /^\d+$/.test(l.checkpoint)), 'start sentinels resume at the start time');
    });

    test('LATEST: what is written after the start but before the first balance round is read, nothing from before', async () => {
      const stream = uniqueName('latest-early');
      await services.createStream(stream, 1);
      await put(kinesis, stream, ['old'], 'k');
      await new Promise((r) => setTimeout(r, 200));
      // Given a run whose first balance round comes 2 s after its start (half of a 4 s balance interval)
      const run = await runKinesisSource(
        { streamName: stream, initialPosition: { type: 'LATEST' }, limits: { idleIntervalMs: 50 } },
        undefined,
        undefined,
        leaseTimings(8000, { balanceIntervalMs: 4000, renewIntervalMs: 1000 }),
      );
      // When a record is written before that round, i.e. before the shard has a lease or a reader
      await put(kinesis, stream, ['early'], 'k');
      const leasesAfterPut = await run.store.listLeases();
      // Then the run reads it (it starts at its own start time, not where the reader begins), and not the older one
      await waitFor('the early record', () => run.texts().length > 0, 40_000);
      await run.stop();
      assert.equal(leasesAfterPut.length, 0, 'the record was written before the first balance round created the lease');
      assert.deepEqual(run.texts(), ['early']);
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

    test("the sink's client sends each part once, hashed by the signature and with no extra CRC32, and S3 keeps it byte for byte", async () => {
      // Given the sink's S3 client, with the signed requests recorded
      const bucket = uniqueName('mpu-sig');
      await services.createBucket(bucket);
      const client = createS3Client();
      const sent: { name: string; headers: Record<string, string> }[] = [];
      type Next = (args: { request: unknown }) => Promise<unknown>;
      const record = (next: Next, context: { commandName?: string }) => async (args: { request: unknown }) => {
        const request = args.request as { headers?: Record<string, string> };
        sent.push({ name: String(context.commandName), headers: { ...(request.headers ?? {}) } });
        return next(args);
      };
      client.middlewareStack.addRelativeTo(
        record as unknown as Parameters<typeof client.middlewareStack.addRelativeTo>[0],
        { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'recordSignedRequest', override: true },
      );
      try {
        // When a small file is uploaded uncommitted and completed
        const body = new Uint8Array(30_000).map((_, i) => (i * 31) & 0xff);
        const pending = await uploadUncommitted(client, { bucket, key: 'parquet/part-sig.parquet', contentType: 'application/octet-stream', records: 1 }, body);
        assert.equal(await completeUpload(client, pending), 'completed');

        // Then three requests were made, the part's body is covered by the signature's SHA-256, no CRC32 was computed
        assert.deepEqual(sent.map((r) => r.name), ['CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand']);
        const part = sent[1]!.headers;
        assert.equal(part['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
        assert.match(part.authorization ?? '', /SignedHeaders=[^,]*x-amz-content-sha256/);
        assert.deepEqual(Object.keys(part).filter((h) => h.startsWith('x-amz-checksum') || h === 'x-amz-sdk-checksum-algorithm'), []);
        // And the object is the bytes sent
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'parquet/part-sig.parquet' }));
        assert.deepEqual(new Uint8Array(await object.Body!.transformToByteArray()), body);
      } finally {
        client.destroy();
      }
    });
  });
});
