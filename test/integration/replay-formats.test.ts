/**
 * etl-replay against real local services (kinesalite, s3rver): LZ4-framed input from files, a
 * directory and an S3 prefix gives exactly what the same JSON lines give plain; --aggregate sends
 * KPL aggregates, each packed for the shard it lands on, that de-aggregate to the same events; the
 * CLI's exit codes.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import lz4 from 'lz4js';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { Shard } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalServices } from '../../local/services.js';
import type { LocalServices } from '../../local/services.js';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import { convertTlcRow, parseCsvLine, partitionKeyHash, replay, tlcLayoutFromHeader } from '../../replay/index.js';
import type { ReplaySummary } from '../../replay/index.js';
import { deaggregate } from '../../processor/sources/kinesis/kpl.js';
import { runReplayCli } from '../support/replay-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = `${ROOT}data/nyc-tlc/yellow_tripdata_2018-01_sample.csv`;
const quiet = createLogger('test', { level: 'silent' });

let services: LocalServices;
let kinesis: KinesisClient;
let s3: S3Client;
let savedEnv: NodeJS.ProcessEnv;
let dir: string;
/** The sample's 1,000 trips as TripEvent JSON lines. */
let jsonLines: string[];

before(async () => {
  services = await startLocalServices();
  const config = baseClientConfig({ region: services.env.AWS_REGION, endpoint: services.endpoints.kinesis });
  kinesis = new KinesisClient({ ...config, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  s3 = new S3Client({ ...baseClientConfig({ region: services.env.AWS_REGION, endpoint: services.endpoints.s3 }), forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const [header, ...rows] = (await readFile(SAMPLE, 'utf8')).split(/\r?\n/).filter((l) => l !== '');
  const layout = tlcLayoutFromHeader(parseCsvLine(header as string));
  jsonLines = rows.map((row, i) => convertTlcRow(row, i + 2, 'sample', layout).json);
});
after(async () => {
  kinesis.destroy();
  s3.destroy();
  await services.stop();
});
beforeEach(async () => {
  savedEnv = { ...process.env };
  Object.assign(process.env, services.env);
  dir = await mkdtemp(join(tmpdir(), 'replay-formats-'));
});
afterEach(async () => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  await rm(dir, { recursive: true, force: true });
});

async function newStream(shards: number): Promise<string> {
  const name = `fmt-${randomUUID().slice(0, 8)}`;
  await services.createStream(name, shards);
  return name;
}

interface StoredRecord {
  readonly shard: Shard;
  readonly key: string;
  readonly sequenceNumber: string;
  readonly data: Uint8Array;
}

/** Every record in the stream, from every shard. */
async function readAll(stream: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  for (const shard of shards) {
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) out.push({ shard, key: r.PartitionKey as string, sequenceNumber: r.SequenceNumber as string, data: r.Data as Uint8Array });
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

/** What a stream holds as sorted `key text` lines (order across shards is not defined). */
async function contents(stream: string): Promise<string[]> {
  return (await readAll(stream)).map((r) => `${r.key} ${Buffer.from(r.data).toString('utf8')}`).sort();
}

const replayTo = (input: string, stream: string, extra: Record<string, unknown> = {}): Promise<ReplaySummary> =>
  replay({ input, streamName: stream, speedup: 1e9, logger: quiet, statisticsFrequencyMs: 0, progress: false, ...extra });

describe('LZ4-framed input', () => {
  test('a .jsonl.lz4 file, and an S3 prefix of .json.lz4 objects, replay exactly as the plain JSON lines', async () => {
    // Given the sample as plain JSON lines, the same as one LZ4 file, and split into two LZ4 objects under an S3 prefix
    const text = `${jsonLines.join('\n')}\n`;
    const plain = join(dir, 'trips.jsonl');
    const compressed = join(dir, 'trips.jsonl.lz4');
    await writeFile(plain, text);
    await writeFile(compressed, lz4.compress(Buffer.from(text)));
    const bucket = `fmt-${randomUUID().slice(0, 8)}`;
    await services.createBucket(bucket);
    const put = (key: string, lines: string[]): Promise<unknown> =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: lz4.compress(Buffer.from(`${lines.join('\n')}\n`)) }));
    await put('taxi-trips.json.lz4/dropoff_year=2018/part-0000.json.lz4', jsonLines.slice(0, 400));
    await put('taxi-trips.json.lz4/dropoff_year=2018/part-0001.json.lz4', jsonLines.slice(400));
    const [fromPlain, fromFile, fromS3] = [await newStream(2), await newStream(2), await newStream(2)];
    // When each is replayed into its own stream
    const summaries = [await replayTo(plain, fromPlain), await replayTo(compressed, fromFile), await replayTo(`s3://${bucket}/taxi-trips.json.lz4/`, fromS3)];
    // Then the three streams hold the same 1,000 records, byte for byte, with the same partition keys
    for (const summary of summaries) {
      assert.equal(summary.eventsSent, 1000);
      assert.equal(summary.invalidRows, 0);
    }
    const expected = await contents(fromPlain);
    assert.equal(expected.length, 1000);
    assert.deepEqual(await contents(fromFile), expected);
    assert.deepEqual(await contents(fromS3), expected);
  });

  test('LZ4 is recognised by its magic bytes in a directory whatever the names, next to gzip and plain files', async () => {
    // Given the reference lz4 tool's compression of the sample CSV under a name without .lz4
    await writeFile(join(dir, 'trips.csv'), await readFile(`${ROOT}test/fixtures/lz4/sample-linked-64k-checksums.csv.lz4`));
    const fromLz4 = await newStream(1);
    const fromCsv = await newStream(1);
    // When it is replayed, and the plain CSV too
    const summary = await replayTo(join(dir, 'trips.csv'), fromLz4);
    await replayTo(SAMPLE, fromCsv);
    // Then both give the same 1,000 events
    assert.equal(summary.eventsSent, 1000);
    assert.deepEqual(await contents(fromLz4), await contents(fromCsv));
  });
});

describe('--aggregate', () => {
  test('KPL aggregates in a 4-shard stream: each holds user records of its own shard only, and de-aggregated they are the plain replay', async () => {
    // Given the sample as JSON lines
    const file = join(dir, 'trips.jsonl');
    await writeFile(file, `${jsonLines.join('\n')}\n`);
    const aggregated = await newStream(4);
    const plain = await newStream(4);
    // When it is replayed with and without --aggregate (aggregates of at most 16 KiB)
    const summary = await replayTo(file, aggregated, { aggregate: true, aggregateMaxBytes: 16 * 1024 });
    await replayTo(file, plain);
    // Then far fewer Kinesis records carry the 1,000 events
    assert.equal(summary.eventsSent, 1000);
    const stored = await readAll(aggregated);
    assert.equal(stored.length, summary.kinesisRecordsSent);
    assert.ok(stored.length < 100, `${stored.length} Kinesis records`);
    // and every record is an aggregate whose user records all hash into the shard it is in
    const users: string[] = [];
    const perShard = new Map<string, number>();
    for (const record of stored) {
      assert.ok(record.data.byteLength + Buffer.byteLength(record.key) <= 16 * 1024);
      const result = deaggregate({ data: record.data, sequenceNumber: record.sequenceNumber, partitionKey: record.key });
      assert.ok(result.ok && result.aggregated, 'a KPL aggregate');
      const low = BigInt(record.shard.HashKeyRange?.StartingHashKey as string);
      const high = BigInt(record.shard.HashKeyRange?.EndingHashKey as string);
      for (const user of result.records) {
        const hash = partitionKeyHash(user.partitionKey);
        assert.ok(hash >= low && hash <= high, `user record ${user.partitionKey} is in shard ${record.shard.ShardId} but hashes elsewhere`);
        users.push(`${user.partitionKey} ${Buffer.from(user.data).toString('utf8')}`);
      }
      perShard.set(record.shard.ShardId as string, (perShard.get(record.shard.ShardId as string) ?? 0) + result.records.length);
    }
    assert.equal(perShard.size, 4);
    // and the user records are exactly what the plain replay put, with the same keys
    assert.deepEqual(users.sort(), await contents(plain));
  });
});

/** Runs the CLI as a child process against the test's local services. */
function runCli(args: string[]): ReturnType<typeof runReplayCli> {
  return runReplayCli(args, services.env);
}

describe('etl-replay exit codes', () => {
  test('an empty file: exit 3, a warning naming it, the summary still printed', async () => {
    const stream = await newStream(1);
    const file = join(dir, 'empty.jsonl');
    await writeFile(file, '');
    const result = await runCli(['--input', file, '--stream-name', stream]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /"msg":"input skipped","source":"[^"]*empty\.jsonl","reason":"empty file"/);
    assert.match(result.stderr, /etl-replay: sent nothing to fmt-\w+: no event could be sent: 1 input object\(s\) skipped/);
    assert.equal((JSON.parse(result.stdout) as ReplaySummary).eventsSent, 0);
  });

  test('every row invalid: exit 3 with the count', async () => {
    const stream = await newStream(1);
    await writeFile(join(dir, 'bad.jsonl'), 'nope\n{"trip_id":1}\n');
    const result = await runCli(['--input', join(dir, 'bad.jsonl'), '--stream-name', stream]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /sent nothing to .*: no event could be sent: 2 invalid row\(s\)/);
  });

  test('--aggregate from the command line: exit 0, the summary counts events and Kinesis records', async () => {
    const stream = await newStream(2);
    const result = await runCli(['--input', SAMPLE, '--stream-name', stream, '--speedup', '1000000000', '--aggregate']);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as ReplaySummary;
    assert.equal(summary.eventsSent, 1000);
    assert.ok(summary.kinesisRecordsSent < 100 && summary.kinesisRecordsSent >= 2, String(summary.kinesisRecordsSent));
  });

  test('a bad --aggregate-max-bytes exits 2 naming the flag and the value', async () => {
    const result = await runCli(['--input', SAMPLE, '--stream-name', 's', '--aggregate', '--aggregate-max-bytes', '2000000']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /flag --aggregate-max-bytes needs an integer from 1024 to 1048576, got "2000000"/);
  });
});
