/**
 * KPL-aggregated input end to end: the sample replayed as aggregates (etl-replay --aggregate), some
 * records sent plain beside them, and one aggregate whose MD5 does not match. Every user record
 * lands once in the Parquet output, the corrupt aggregate is one dead letter, and a processor
 * started again on the same lease table adds nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import { aggregate } from '../../processor/sources/kinesis/kpl.js';
import { replay } from '../../replay/replay.js';
import { createPipelineResources, downloadPrefix, getObject, listKeys, startServicesForTest, uniqueName, waitFor } from '../support/local.js';
import { readParquet } from '../support/parquet.js';
import { s3PipelineFlags, startTestProcessor } from '../support/processor.js';
import { SAMPLE_CSV, sampleFacts } from '../support/sample.js';
import { KILL_PHASES, runSoak } from '../support/soak.js';

const quiet = createLogger('test', { level: 'warn' });

/** A valid TripEvent JSON with the given trip id (the plain records beside the aggregates). */
function tripJson(tripId: number): string {
  return JSON.stringify({
    vendor_id: 1, pickup_datetime: '2018-01-01T10:00:00.000Z', dropoff_datetime: '2018-01-01T10:10:00.000Z', passenger_count: 1,
    trip_distance: 1.5, ratecode_id: 1, store_and_fwd_flag: 'N', pickup_location_id: 7, dropoff_location_id: 8, payment_type: 1,
    fare_amount: 7, extra: 0, mta_tax: 0.5, tip_amount: 1, tolls_amount: 0, improvement_surcharge: 0.3, total_amount: 8.8,
    trip_id: tripId, type: 'trip', padding: '',
  });
}

describe('KPL-aggregated Kinesis records', () => {
  let services: LocalServices;
  let s3: S3Client;
  let kinesis: KinesisClient;
  const cleanup: string[] = [];
  before(async () => {
    services = await startServicesForTest({ s3: 'moto' });
    s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
    kinesis = new KinesisClient(baseClientConfig());
  });
  after(async () => {
    s3.destroy();
    kinesis.destroy();
    await services.stop();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  test('every user record lands once, mixed with plain records; a corrupt aggregate is one dead letter; a restart adds nothing', async () => {
    // Given a processor, the sample replayed as KPL aggregates, ten plain records, and one aggregate with a broken MD5
    const { stream, bucket, table } = await createPipelineResources(services, 2);
    const flags = [...s3PipelineFlags({ stream, bucket, table }), '--ApplicationName', uniqueName('kpl'), '--CheckpointInterval', '1000'];
    const first = await startTestProcessor(flags);
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, aggregate: true, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    assert.ok(replayed.kinesisRecordsSent < replayed.eventsSent / 10, `aggregated: ${replayed.kinesisRecordsSent} records for ${replayed.eventsSent} events`);
    const plain = Array.from({ length: 10 }, (_, i) => tripJson(9_000_000 + i));
    const [corrupt] = aggregate([3, 4, 5].map((i) => ({ data: Buffer.from(tripJson(8_000_000 + i)), partitionKey: `c${i}` })));
    const broken = Buffer.from(corrupt!.data);
    broken[broken.length - 1] = broken[broken.length - 1]! ^ 0xff; // the MD5's last byte
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: [...plain.map((p, i) => ({ Data: Buffer.from(p), PartitionKey: `p${i}` })), { Data: broken, PartitionKey: 'corrupt' }],
      }),
    );
    assert.equal(put.FailedRecordCount, 0);
    const total = replayed.eventsSent + plain.length + 1;
    await waitFor('every user record read', () => first.stats().eventsIn >= total);
    await first.stop();

    // When a second processor starts on the same lease table and runs for a while
    const second = await startTestProcessor(flags);
    await waitFor('the second reading its shards', () => second.stats().activeShards >= 1);
    await new Promise((r) => setTimeout(r, 1500));
    await second.stop();

    // Then the second read nothing again, and the output holds every user record exactly once
    assert.equal(second.stats().eventsIn, 0);
    assert.equal(first.stats().eventsRejected, 1);
    const facts = sampleFacts();
    const { dir } = await downloadPrefix(s3, bucket, 'parquet/');
    cleanup.push(dir);
    const report = await readParquet([join(dir, 'parquet')], { distinct: ['trip_id'] });
    assert.equal(report.combined.pyarrow.rows, facts.rows + plain.length);
    assert.equal(report.combined.duckdb.distinct?.trip_id?.length, facts.rows + plain.length);

    // ... and the corrupt aggregate is one dead letter with the reason and its raw bytes
    const letters = (await Promise.all((await listKeys(s3, bucket, 'errors/')).map(async (k) => Buffer.from(await getObject(s3, bucket, k)).toString('utf8'))))
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { reason: string; raw_base64: string; source: { partitionKey?: string } });
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.source.partitionKey, 'corrupt', 'the dead letter keeps the record\'s partition key');
    assert.match(letters[0]!.reason, /MD5/i);
    assert.equal(letters[0]!.raw_base64, broken.toString('base64'));
  });

  test('kill -9 at random moments and after each checkpoint phase while KPL aggregates arrive: every user record once', async (t) => {
    // Given three workers reading aggregates of 7 user records, killed 10 times (some right after a checkpoint phase)
    const summary = await runSoak({ services, kills: 10, aggregate: 7, progress: (line) => t.diagnostic(line) });
    const { output, ...figures } = summary;
    t.diagnostic(JSON.stringify(figures));
    // Then every user record is in S3 exactly once, in its partition, with nothing left open or uncommitted
    assert.ok(summary.kills >= 10);
    for (const phase of KILL_PHASES) assert.ok(summary.phaseKills[phase] >= 1, `kills after the ${phase} phase: ${summary.phaseKills[phase]}`);
    assert.ok(summary.events > 1000, `events put: ${summary.events}`);
    assert.deepEqual(output.missing.slice(0, 20), [], `${output.missing.length} user records missing`);
    assert.deepEqual(output.duplicates.slice(0, 20), [], `${output.duplicates.length} user records written more than once`);
    assert.deepEqual(output.misplaced.slice(0, 20), []);
    assert.equal(summary.rows, summary.events);
    assert.equal(summary.openUploads, 0);
    assert.equal(summary.uncommittedRecords, 0);
  });
});
