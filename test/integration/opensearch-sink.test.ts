/**
 * The OpenSearch sink against a real node (issue 8, "Proof"): the sample replayed with OpenSearch
 * as an extra sink beside S3 gives one document per trip in the index its type names, typed by the
 * mapping; reading the stream again changes no count and no version; a document the mapping
 * refuses becomes a dead letter with the node's reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import { replay } from '../../replay/replay.js';
import { assertionClient, countDocs, rawSource, readAllDocs, type StoredDoc } from '../support/opensearch-docs.js';
import { openSearchSkipReason, useOpenSearch } from '../support/opensearch.js';
import { createPipelineResources, getObject, listKeys, startServicesForTest, uniqueName, waitFor } from '../support/local.js';
import { s3PipelineFlags, startTestProcessor } from '../support/processor.js';
import { SAMPLE_CSV, sampleFacts } from '../support/sample.js';
import { tripEvent } from '../support/scale-out.js';

const quiet = createLogger('test', { level: 'warn' });

describe('OpenSearch sink on a real node', { skip: openSearchSkipReason() }, () => {
  const node = useOpenSearch();
  let services: LocalServices;
  let s3: S3Client;
  let kinesis: KinesisClient;

  before(async () => {
    services = await startServicesForTest();
    s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
    kinesis = new KinesisClient(baseClientConfig());
  });
  after(async () => {
    s3.destroy();
    kinesis.destroy();
    await services.stop();
  });

  test('the sample: one typed document per trip in the index its type names; a second read changes no count and no version; a refused document is a dead letter', async () => {
    // Given a stream, S3 and OpenSearch sinks, and an index "<prefix>legacy" whose mapping refuses fractional fares
    const endpoint = node.get().endpoint;
    const { stream, bucket, table } = await createPipelineResources(services, 4);
    const prefix = `${uniqueName('p')}-`;
    const admin = assertionClient(endpoint);
    await admin.indices.create({ index: `${prefix}legacy`, body: { mappings: { properties: { fare_amount: { type: 'integer', coerce: false } } } } });
    await admin.close();
    const osFlags = ['--OutputElasticsearchEndpoint', endpoint, '--ElasticsearchIndexPrefix', prefix, '--ElasticsearchBulkFlushMaxActions', '200', '--CheckpointInterval', '1000'];
    const processor = await startTestProcessor([...s3PipelineFlags({ stream, bucket, table }), '--ApplicationName', uniqueName('app'), ...osFlags]);

    // When the sample is replayed, plus one event typed "legacy" whose fare the index refuses
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    const legacy = { ...(JSON.parse(tripEvent(77)) as Record<string, unknown>), type: 'legacy', fare_amount: 12.5 };
    const put = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ Data: Buffer.from(JSON.stringify(legacy)), PartitionKey: '77' }] }));
    assert.equal(put.FailedRecordCount, 0);
    await waitFor('all records read', () => processor.stats().eventsIn >= replayed.eventsSent + 1);
    await processor.stop();

    // Then the trip index holds one document per sample row, with the sample's totals
    const facts = sampleFacts();
    assert.equal(replayed.eventsSent, facts.rows);
    const docs = await readAllDocs(endpoint, `${prefix}*`);
    assert.deepEqual([...docs.keys()].sort(), [`${prefix}trip`], 'only the trip index has documents');
    const trips = docs.get(`${prefix}trip`)!;
    assert.equal(trips.length, facts.rows);
    assert.equal(new Set(trips.map((d) => d.id)).size, facts.rows);
    assert.equal(trips.reduce((sum, d) => sum + Math.round(Number(d.source['total_amount']) * 100), 0), facts.totalAmountCents);
    const perLocation = new Map<number, number>();
    for (const d of trips) perLocation.set(Number(d.source['pickup_location_id']), (perLocation.get(Number(d.source['pickup_location_id'])) ?? 0) + 1);
    assert.deepEqual([...perLocation].sort((a, b) => a[0] - b[0]), [...facts.rowsPerPickupLocation].sort((a, b) => a[0] - b[0]));
    assert.ok(trips.every((d) => d.version === 1), 'each document was written once');

    // ... with the fields of the schema, ISO datetimes, and the exact 64-bit trip id as its id
    const first = trips[0]!;
    assert.deepEqual(Object.keys(first.source).sort(), [...JSON.parse(readFileSync(new URL('../../processor/formats/schemas/trip-event.json', import.meta.url), 'utf8')).fields.map((f: { name: string }) => f.name), 'etl_order'].sort());
    assert.match(String(first.source['pickup_datetime']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(first.source['type'], 'trip');
    const big = trips.find((d) => BigInt(d.id) > BigInt(Number.MAX_SAFE_INTEGER));
    assert.ok(big, 'the sample has trip ids beyond 2^53');
    assert.match(await rawSource(endpoint, `${prefix}trip`, big.id), new RegExp(`"trip_id":${big.id}[,}]`), 'the stored trip id is exact');
    const mappingClient = assertionClient(endpoint);
    const mapping = (await mappingClient.indices.getMapping({ index: `${prefix}trip` })).body[`${prefix}trip`]?.mappings as { dynamic: string; properties: Record<string, { type: string }> };
    await mappingClient.close();
    assert.equal(mapping.properties['pickup_datetime']?.type, 'date');
    assert.equal(mapping.properties['trip_id']?.type, 'long');
    assert.equal(mapping.properties['total_amount']?.type, 'double');
    assert.equal(mapping.properties['type']?.type, 'keyword');
    assert.equal(mapping.dynamic, 'strict');

    // ... and the refused event is a dead letter with the node's reason (and in S3, which took it)
    const stats = processor.stats();
    assert.equal(stats.eventsRejected, 1);
    assert.equal(stats.eventsOut.opensearch, facts.rows);
    const letters = (await Promise.all((await listKeys(s3, bucket, 'errors/')).map(async (k) => Buffer.from(await getObject(s3, bucket, k)).toString('utf8'))))
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { reason: string; raw_base64: string });
    assert.equal(letters.length, 1);
    assert.equal(Buffer.from(letters[0]!.raw_base64, 'base64').toString('utf8'), JSON.stringify(legacy));
    assert.match(letters[0]!.reason, /^OpenSearch: 400 mapper_parsing_exception: .*fare_amount/);

    // When a second application reads the same stream from its start (every record again, same positions) into OpenSearch only
    const again = await startTestProcessor(['--InputKinesisStream', stream, '--InputStreamInitalPosition', 'TRIM_HORIZON', '--CheckpointTable', table, '--ApplicationName', uniqueName('again'), ...osFlags]);
    await waitFor('all records read again', () => again.stats().eventsIn >= replayed.eventsSent + 1);
    await again.stop();

    // Then no document was created or changed: same count, same versions
    assert.equal(again.stats().eventsOut.opensearch, 0, 'nothing created or replaced');
    const after2 = (await readAllDocs(endpoint, `${prefix}trip`)).get(`${prefix}trip`)!;
    assert.equal(after2.length, facts.rows);
    assert.deepEqual(new Map(after2.map((d) => [d.id, d.version])), new Map(trips.map((d) => [d.id, d.version])));

    // When a producer puts copies of stored events (new, later positions) and then one changed event
    // (JSON text with the exact trip id: JSON.parse rounded ids beyond 2^53 in the sources read back)
    const eventText = (d: StoredDoc, change: Record<string, unknown> = {}): string => {
      const { etl_order: _order, ...event } = d.source;
      return JSON.stringify({ ...event, ...change, trip_id: 0 }).replace('"trip_id":0', `"trip_id":${d.id}`);
    };
    const dupes = trips.slice(0, 3);
    const texts = [...dupes.map((d) => eventText(d)), eventText(dupes[0]!, { tip_amount: 99 })];
    const third = await startTestProcessor(['--InputKinesisStream', stream, '--InputStreamInitalPosition', 'LATEST', '--ApplicationName', uniqueName('third'), ...osFlags]);
    await new Promise((r) => setTimeout(r, 1500));
    for (const text of texts) {
      await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ Data: Buffer.from(text), PartitionKey: 'dupes' }] }));
    }
    await waitFor('the duplicates read', () => third.stats().eventsIn >= 4);
    await third.stop();

    // Then a later event replaces its document, each once (a producer's duplicate is a later event too: it rewrites the same content)
    const after3 = new Map((await readAllDocs(endpoint, `${prefix}trip`)).get(`${prefix}trip`)!.map((d) => [d.id, d]));
    assert.equal(after3.size, facts.rows);
    assert.equal(after3.get(dupes[0]!.id)?.source['tip_amount'], 99, 'the latest event wins');
    assert.equal(after3.get(dupes[0]!.id)?.version, 3, 'written by the copy, then by the changed event');
    for (const d of dupes.slice(1)) assert.equal(after3.get(d.id)?.version, 2);
    assert.equal(await countDocs(endpoint, `${prefix}*`), facts.rows);
  });
});
