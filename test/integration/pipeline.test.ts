/**
 * End to end on real local services: replay the bundled taxi sample into Kinesis, run the
 * processor, and read every Parquet file back with pyarrow and DuckDB (independent readers).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import type { ProcessorHandle } from '../../processor/processor.js';
import { replay } from '../../replay/replay.js';
import { createPipelineResources, downloadPrefix, getObject, listKeys, startServicesForTest, uniqueName, waitFor } from '../support/local.js';
import { readParquet } from '../support/parquet.js';
import { s3PipelineFlags, startTestProcessor } from '../support/processor.js';
import { SAMPLE_CSV, sampleFacts } from '../support/sample.js';
import { NATIVE_CREATED_BY } from '../../processor/sinks/s3/native-parquet-sink.js';
import { toJson, tripEvent } from '../unit/formats-factory.js';

const quiet = createLogger('test', { level: 'warn' });

/** A processor on the test's stream, bucket and table, with its own application name. */
function processorFor(stream: string, bucket: string, table: string, extra: string[] = []): Promise<ProcessorHandle> {
  return startTestProcessor([...s3PipelineFlags({ stream, bucket, table }), '--ApplicationName', uniqueName('app'), ...extra]);
}



describe('replay -> Kinesis -> processor -> Parquet on S3', () => {
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

  test('every sample event lands once, typed, in the partition its pickup location and time say; bad records become dead letters', async () => {
    // Given a 4-shard stream, a bucket and a checkpoint table, and the processor running
    const { stream, bucket, table } = await createPipelineResources(services, 4);
    const processor = await processorFor(stream, bucket, table);

    // When the sample is replayed, plus three records that are not valid TripEvents
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    const bad = ['not json at all', '{"vendor_id": 1}', '{"vendor_id":"two"}'];
    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: stream, Records: bad.map((b, i) => ({ Data: Buffer.from(b), PartitionKey: `bad-${i}` })) }),
    );
    assert.equal(put.FailedRecordCount, 0);
    await waitFor('all records read', () => processor.stats().eventsIn >= replayed.eventsSent + bad.length);
    await processor.stop();

    // Then every valid event was written once and the bad ones were rejected
    const facts = sampleFacts();
    assert.equal(replayed.eventsSent, facts.rows);
    const stats = processor.stats();
    assert.equal(stats.eventsRejected, bad.length);
    assert.equal(stats.eventsOut.s3, facts.rows);

    const data = await downloadPrefix(s3, bucket, 'parquet/');
    cleanup.push(data.dir);
    assert.ok(data.keys.every((k) => /^parquet\/pickup_location=\d{3}\/year=\d{4}\/month=\d{2}\/part-[^/]+\.parquet$/.test(k)), data.keys.join('\n'));
    const report = await readParquet([join(data.dir, 'parquet')], { values: ['pickup_location_id', 'pickup_datetime'], distinct: ['trip_id'] });

    for (const reader of ['pyarrow', 'duckdb'] as const) {
      const all = report.combined[reader];
      assert.equal(all.rows, facts.rows, `${reader} row count`);
      assert.equal(Math.round(Number(all.columns.total_amount?.sum) * 100), facts.totalAmountCents, `${reader} sum of total_amount`);
      assert.equal(all.distinct?.trip_id?.length, facts.rows, `${reader} distinct trip ids`);
    }
    assert.equal(report.combined.pyarrow.schema.pickup_datetime, 'timestamp[ms, tz=UTC]');
    assert.equal(report.combined.pyarrow.schema.dropoff_datetime, 'timestamp[ms, tz=UTC]');
    assert.equal(report.combined.pyarrow.schema.trip_id, 'int64');
    assert.equal(report.combined.pyarrow.schema.total_amount, 'double');
    assert.match(report.combined.duckdb.schema.pickup_datetime ?? '', /TIMESTAMP WITH TIME ZONE/);

    // ... each row in the partition its pickup location and pickup time (UTC) say
    const perLocation = new Map<number, number>();
    for (const file of report.files) {
      const m = /pickup_location=(\d{3})\/year=(\d{4})\/month=(\d{2})\//.exec(file.path);
      assert.ok(m, file.path);
      const locations = file.pyarrow.values?.pickup_location_id ?? [];
      const times = file.pyarrow.values?.pickup_datetime ?? [];
      assert.equal(locations.length, file.pyarrow.rows);
      for (let i = 0; i < locations.length; i += 1) {
        assert.equal(String(locations[i]).padStart(3, '0'), m[1], `${file.path} row ${i} location`);
        assert.equal(String(times[i]).slice(0, 7), `${m[2]}-${m[3]}`, `${file.path} row ${i} pickup month`);
        perLocation.set(Number(locations[i]), (perLocation.get(Number(locations[i])) ?? 0) + 1);
      }
    }
    assert.deepEqual([...perLocation.entries()].sort((a, b) => a[0] - b[0]), [...facts.rowsPerPickupLocation.entries()].sort((a, b) => a[0] - b[0]));

    // ... and the dead letters hold the raw bytes, the reason and the source position
    const errorKeys = await listKeys(s3, bucket, 'errors/');
    assert.ok(errorKeys.length >= 1);
    const letters = (await Promise.all(errorKeys.map(async (k) => Buffer.from(await getObject(s3, bucket, k)).toString('utf8'))))
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { reason: string; raw_base64: string; source: { stream: string; shard: string; position: string } });
    assert.deepEqual(letters.map((l) => Buffer.from(l.raw_base64, 'base64').toString('utf8')).sort(), [...bad].sort());
    for (const letter of letters) {
      assert.equal(letter.source.stream, stream);
      assert.match(letter.source.shard, /^shardId-/);
      assert.match(letter.source.position, /^\d+$/);
      assert.ok(letter.reason.length > 0);
    }
    assert.match(letters.find((l) => l.raw_base64 === Buffer.from(bad[2]!).toString('base64'))!.reason, /vendor_id/);
  });

  test('output stays invisible until a checkpoint commits it', async () => {
    // Given a processor whose checkpoints are an hour apart
    const { stream, bucket, table } = await createPipelineResources(services, 2);
    const processor = await processorFor(stream, bucket, table, ['--CheckpointInterval', '3600000', '--ParquetConversion', 'false']);
    try {
    // When events are read and handed to the sink
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, maxEvents: 200, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    await waitFor('200 records read', () => processor.stats().eventsIn >= replayed.eventsSent);

    // Then nothing is visible before the checkpoint...
    assert.deepEqual(await listKeys(s3, bucket, 'parquet/'), []);
    // ... and everything after it, as JSON lines
    const result = await processor.checkpointNow();
    assert.equal(result.checkpointId, 1);
    const keys = await listKeys(s3, bucket, 'parquet/');
    assert.ok(keys.length > 0);
    for (const key of keys) assert.match(key, /\.jsonl$/);
    const lines = (await Promise.all(keys.map(async (k) => Buffer.from(await getObject(s3, bucket, k)).toString('utf8')))).join('').split('\n').filter((l) => l);
    assert.equal(lines.length, 200);
    assert.equal(processor.stats().eventsOut.s3, 200);
    } finally {
      await processor.stop();
    }
  });

  test('the Kinesis sink copies every valid event to the output stream', async () => {
    // Given an input and an output stream, and a processor with only the Kinesis sink
    const input = uniqueName('in');
    const output = uniqueName('out');
    await services.createStream(input, 2);
    await services.createStream(output, 3);
    const processor = await startTestProcessor(['--InputKinesisStream', input, '--InputStreamInitalPosition', 'TRIM_HORIZON', '--OutputKinesisStream', output, '--ApplicationName', uniqueName('app')]);

    // When 300 events are replayed and the processor stops (its final checkpoint flushes the sink)
    const replayed = await replay({ input: SAMPLE_CSV, streamName: input, speedup: 1e9, maxEvents: 300, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    await waitFor('300 records read', () => processor.stats().eventsIn >= replayed.eventsSent);
    await processor.stop();
    assert.equal(processor.stats().eventsOut.kinesis, 300);

    // Then the output stream holds the same 300 events, spread over its shards by trip id
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: output }))).Shards ?? [];
    const copied: string[] = [];
    let shardsWithData = 0;
    for (const shard of shards) {
      let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: output, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      const before = copied.length;
      for (let i = 0; i < 5 && iterator; i += 1) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
        for (const r of page.Records ?? []) copied.push(Buffer.from(r.Data!).toString('utf8'));
        iterator = page.Records?.length ? page.NextShardIterator : undefined;
      }
      if (copied.length > before) shardsWithData += 1;
    }
    assert.equal(copied.length, 300);
    const ids = new Set(copied.map((text) => /"trip_id":(\d+)/.exec(text)?.[1]));
    assert.equal(ids.size, 300);
    assert.equal(shardsWithData, shards.length);
  });

  test('native Parquet path: what the addon refuses is judged by the JS decoder; valid events land, bad ones are dead letters, Parquet and JSON sinks agree', async () => {
    // Given one processor writing Parquet with the addon (the default) and one writing JSON lines, on the same stream
    const { stream, bucket, table } = await createPipelineResources(services, 1);
    const parquet = await processorFor(stream, bucket, table);
    const jsonOut = await processorFor(stream, bucket, table, ['--ParquetConversion', 'false', '--OutputPrefix', 'json/', '--OutputErrorPrefix', 'json-errors/']);

    // When valid events, an event the addon refuses but the JS decoder accepts (an unknown field
    // nested 20,000 deep), an exact long beyond 2^53 written as a float, and bad records are sent
    const valid = (id: number, extra = ''): string => toJson(tripEvent(id)).replace(/}$/, `${extra}}`);
    const records = [
      valid(1), valid(2, `,"nested":${'['.repeat(20_000)}${']'.repeat(20_000)}`), valid(3).replace('"trip_id":4', '"trip_id":9007199254740993.0'),
      '{"vendor_id":"two"}', valid(5).replace('"pickup_datetime":"', '"pickup_datetime":"x'), 'not json',
    ];
    const put = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: records.map((r, i) => ({ Data: Buffer.from(r), PartitionKey: `k${i}` })) }));
    assert.equal(put.FailedRecordCount, 0);
    for (const p of [parquet, jsonOut]) await waitFor('every record read', () => p.stats().eventsIn >= records.length);
    await parquet.stop();
    await jsonOut.stop();

    // Then both wrote the three valid events and rejected the three bad ones with the same reasons
    for (const p of [parquet, jsonOut]) assert.deepEqual([p.stats().eventsValid, p.stats().eventsRejected], [3, 3]);
    const data = await downloadPrefix(s3, bucket, 'parquet/');
    cleanup.push(data.dir);
    const bodies = await Promise.all(data.keys.map((k) => getObject(s3, bucket, k)));
    assert.ok(bodies.every((b) => Buffer.from(b).includes(NATIVE_CREATED_BY)), 'the Parquet files were written by the addon');
    const report = await readParquet([join(data.dir, 'parquet')], { values: ['trip_id', 'pickup_location_id'] });
    const jsonLines = (await Promise.all((await listKeys(s3, bucket, 'json/')).map(async (k) => Buffer.from(await getObject(s3, bucket, k)).toString('utf8'))))
      .join('').split('\n').filter((l) => l !== '');
    const jsonIds = jsonLines.map((l) => /"trip_id":"?(\d+)/.exec(l)?.[1]).sort();
    assert.deepEqual(jsonIds, ['2', '3', '9007199254740993']);
    assert.deepEqual(report.combined.pyarrow.values?.trip_id?.map(String).sort(), jsonIds);
    const reasons = async (prefix: string): Promise<string[]> =>
      (await Promise.all((await listKeys(s3, bucket, prefix)).map(async (k) => Buffer.from(await getObject(s3, bucket, k)).toString('utf8'))))
        .join('').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { reason: string }).reason).sort();
    const parquetReasons = await reasons('errors/');
    assert.deepEqual(parquetReasons, await reasons('json-errors/'));
    assert.equal(parquetReasons.length, 3);
    assert.ok(parquetReasons.some((r) => /vendor_id/.test(r)) && parquetReasons.some((r) => /pickup_datetime/.test(r)) && parquetReasons.some((r) => /not JSON/.test(r)), parquetReasons.join('\n'));
  });

  test('an event whose partition cannot be rendered becomes a dead letter naming the field, and nothing is lost', async () => {
    // Given a template that formats a text field as a number
    const { stream, bucket, table } = await createPipelineResources(services, 1);
    const processor = await processorFor(stream, bucket, table, ['--OutputPartitionTemplate', 'flag={store_and_fwd_flag:%03d}/']);

    // When 20 events are processed
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, maxEvents: 20, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    await waitFor('20 records read', () => processor.stats().eventsIn >= replayed.eventsSent);
    await processor.stop();

    // Then all 20 are dead letters with the reason, and no data file was written
    assert.equal(processor.stats().eventsRejected, 20);
    assert.equal(processor.stats().eventsOut.s3, 0);
    assert.deepEqual(await listKeys(s3, bucket, 'parquet/'), []);
    const letters = (await Promise.all((await listKeys(s3, bucket, 'errors/')).map(async (k) => Buffer.from(await getObject(s3, bucket, k)).toString('utf8'))))
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { reason: string; raw_base64: string });
    assert.equal(letters.length, 20);
    for (const letter of letters) {
      assert.match(letter.reason, /^partition: .*store_and_fwd_flag/);
      assert.match(Buffer.from(letter.raw_base64, 'base64').toString('utf8'), /"trip_id":\d+/);
    }
  });
});
