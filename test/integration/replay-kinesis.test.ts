import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import type { PutRecordsCommandOutput, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalServices } from '../../local/services.js';
import type { LocalServices } from '../../local/services.js';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import { PutRecordsWriter } from '../../common/kinesis/index.js';
import type { PutRecordsClient } from '../../common/kinesis/index.js';
import { convertTlcRow, parseCsvLine, replay, tlcLayoutFromHeader } from '../../replay/index.js';
import { runReplayCli } from '../support/replay-cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = `${ROOT}data/nyc-tlc/yellow_tripdata_2018-01_sample.csv`;
const quiet = createLogger('test', { level: 'silent' });

let services: LocalServices;
let kinesis: KinesisClient;
let savedEnv: NodeJS.ProcessEnv;

before(async () => {
  services = await startLocalServices();
  kinesis = new KinesisClient({ ...baseClientConfig({ region: services.env.AWS_REGION, endpoint: services.endpoints.kinesis }), credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
});
after(async () => {
  kinesis.destroy();
  await services.stop();
});
beforeEach(() => {
  savedEnv = { ...process.env };
  Object.assign(process.env, services.env);
});
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

/** A fresh stream with a unique name. */
async function newStream(shards: number): Promise<string> {
  const name = `replay-${randomUUID().slice(0, 8)}`;
  await services.createStream(name, shards);
  return name;
}

/** Every record in the stream, from every shard, with its shard. */
async function readAll(stream: string): Promise<{ shard: string; key: string; text: string }[]> {
  const out: { shard: string; key: string; text: string }[] = [];
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  for (const shard of shards) {
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) out.push({ shard: shard.ShardId as string, key: r.PartitionKey as string, text: Buffer.from(r.Data as Uint8Array).toString('utf8') });
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

/** The sample's lines, and the trip_ids its rows convert to. */
async function sample(): Promise<{ header: string; rows: string[]; tripIds: Set<string> }> {
  const [header, ...rows] = (await readFile(SAMPLE, 'utf8')).split(/\r?\n/).filter((l) => l !== '');
  const layout = tlcLayoutFromHeader(parseCsvLine(header as string));
  const tripIds = new Set(rows.map((r, i) => convertTlcRow(r, i + 2, 'x', layout).event.trip_id.toString()));
  return { header: header as string, rows, tripIds };
}

const TRIP_FIELDS = [
  'vendor_id', 'pickup_datetime', 'dropoff_datetime', 'passenger_count', 'trip_distance', 'ratecode_id', 'store_and_fwd_flag',
  'pickup_location_id', 'dropoff_location_id', 'payment_type', 'fare_amount', 'extra', 'mta_tax', 'tip_amount', 'tolls_amount',
  'improvement_surcharge', 'total_amount', 'trip_id', 'type',
];

describe('replay into kinesalite', () => {
  test('the full 1,000-row sample lands in a 4-shard stream: every trip once, valid TripEvents, spread over the shards', async () => {
    // Given a 4-shard stream
    const stream = await newStream(4);
    // When the sample is replayed at a huge speedup
    const summary = await replay({ input: SAMPLE, streamName: stream, speedup: 1e9, logger: quiet, statisticsFrequencyMs: 0, progress: false });
    // Then Kinesis holds exactly the 1,000 trips
    assert.equal(summary.eventsSent, 1000);
    assert.equal(summary.invalidRows, 0);
    const records = await readAll(stream);
    assert.equal(records.length, 1000);
    const { tripIds } = await sample();
    const seen = new Set<string>();
    for (const record of records) {
      const event = JSON.parse(record.text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(event), TRIP_FIELDS);
      assert.equal(event.type, 'trip');
      assert.match(String(event.dropoff_datetime), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      // the exact 64-bit id is in the text, and is the partition key
      const id = /"trip_id":(\d+),/.exec(record.text)?.[1] as string;
      assert.equal(record.key, id);
      assert.ok(tripIds.has(id), `unexpected trip_id ${id}`);
      seen.add(id);
    }
    assert.equal(seen.size, 1000);
    const perShard = new Map<string, number>();
    for (const r of records) perShard.set(r.shard, (perShard.get(r.shard) ?? 0) + 1);
    assert.equal(perShard.size, 4, 'the trip id spreads the load over every shard');
    process.stderr.write(`# replay of the sample into kinesalite: ${summary.eventsPerSecond} events/s (${summary.durationMs} ms)\n`);
  });

  test('partial failures: only the failed entries are sent again, nothing is lost or doubled', async () => {
    // Given a real kinesalite behind a fault injector that fails every third entry of the first two
    // requests with ProvisionedThroughputExceeded (those entries are not forwarded: as in Kinesis,
    // a failed entry is not written), kinesalite itself never failing entries
    const stream = await newStream(2);
    const calls: string[][] = [];
    let call = 0;
    const faulty: PutRecordsClient = {
      async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
        call += 1;
        const entries = command.input.Records ?? [];
        calls.push(entries.map((e) => e.PartitionKey as string));
        const fail = entries.map((_, i) => call <= 2 && i % 3 === 0);
        const forwarded = entries.filter((_, i) => !fail[i]);
        const real = forwarded.length > 0 ? await kinesis.send(new PutRecordsCommand({ ...command.input, Records: forwarded })) : { Records: [] };
        const answers = [...(real.Records ?? [])];
        const results: PutRecordsResultEntry[] = fail.map((f) =>
          f ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' } : (answers.shift() as PutRecordsResultEntry),
        );
        return { FailedRecordCount: fail.filter(Boolean).length, Records: results, $metadata: {} };
      },
    };
    const writer = new PutRecordsWriter({ client: faulty, stream, maxInFlight: 1, initialBackoffMs: 10, lingerMs: 10_000 });
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    // When 30 records are written and flushed
    await writer.write(keys.map((k) => ({ data: new TextEncoder().encode(JSON.stringify({ k })), partitionKey: k })));
    await writer.flush();
    await writer.close();
    // Then the second request carried exactly the 10 entries failed by the first, the third the 4 failed by the second
    assert.deepEqual(calls[0], keys);
    assert.deepEqual(calls[1], keys.filter((_, i) => i % 3 === 0));
    assert.deepEqual(calls[2], keys.filter((_, i) => i % 9 === 0));
    assert.equal(calls.length, 3);
    assert.equal(writer.stats.retries, 14);
    assert.equal(writer.stats.throttles, 14);
    // and the stream holds every record exactly once
    const stored = (await readAll(stream)).map((r) => r.key).sort();
    assert.deepEqual(stored, [...keys].sort());
  });

  test('S3 input: two gzip objects under a prefix, read in key order', async () => {
    // Given the sample split in two gzip'd CSV objects (each with the header) and an object outside the prefix
    const bucket = `replay-${randomUUID().slice(0, 8)}`;
    await services.createBucket(bucket);
    const s3 = new S3Client({ ...baseClientConfig({ region: services.env.AWS_REGION, endpoint: services.endpoints.s3 }), forcePathStyle: true });
    const { header, rows, tripIds } = await sample();
    const put = (key: string, body: Uint8Array | string): Promise<unknown> => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await put('trips/part-0001.csv.gz', gzipSync([header, ...rows.slice(600)].join('\n')));
    await put('trips/part-0000.csv.gz', gzipSync([header, ...rows.slice(0, 600)].join('\n')));
    await put('other/ignore.csv', `${header}\n${rows[0]}`);
    s3.destroy();
    const stream = await newStream(2);
    // When replayed from s3://bucket/trips/
    const summary = await replay({ input: `s3://${bucket}/trips/`, streamName: stream, speedup: 1e9, logger: quiet, statisticsFrequencyMs: 0, progress: false });
    // Then all 1,000 trips arrive once
    assert.equal(summary.eventsRead, 1000);
    const records = await readAll(stream);
    assert.equal(records.length, 1000);
    assert.equal(new Set(records.map((r) => r.key)).size, 1000);
    const matching = records.filter((r) => tripIds.has(r.key)).length;
    assert.equal(matching, 600, 'the ids of the first part are those of the single-file replay (same rows, same line numbers)');
  });
});

const runCli = runReplayCli;

describe('etl-replay CLI', () => {
  test('replays the sample end to end and prints the summary line', async () => {
    const stream = await newStream(4);
    const result = await runCli(['--input', 'data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', '-streamName', stream, '--speedup', '1000000', '-noWatermark'], services.env);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    assert.equal(summary.eventsSent, 1000);
    assert.equal(summary.eventsRead, 1000);
    assert.equal(summary.invalidRows, 0);
    assert.equal((await readAll(stream)).length, 1000);
  });

  test('an unknown flag exits 2 naming it; a bad value exits 2 naming flag and value', async () => {
    const unknown = await runCli(['--input', 'x.csv', '--stream-name', 's', '--speeed', '2']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown flag "--speeed"/);
    const bad = await runCli(['--input', 'x.csv', '-streamName', 's', '-speedup', 'fast']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--speedup.*"fast"/);
    assert.equal(bad.stdout, '');
  });

  test('--help exits 0 and lists the single-dash spellings', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /-timestampAttributeName/);
  });

  test('a missing input exits 1 with the path', async () => {
    const missing = await runCli(['--input', 'no/such/file.csv', '--stream-name', 's'], services.env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no\/such\/file\.csv/);
  });
});
