/**
 * The OpenSearch sink against a real node (issue 8, "Proof"): the sample replayed with OpenSearch
 * as an extra sink beside S3 gives one document per trip in the index its type names, typed by the
 * mapping; reading the stream again changes no count and no version; a document the mapping
 * refuses becomes a dead letter with the node's reason. Processor CLI processes killed with -9 at
 * random and right after each checkpoint phase leave one document per event and S3 exact. A node
 * that answers 429, or is down for a while, makes the processor wait and catch up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DescribeStreamSummaryCommand, KinesisClient, ListShardsCommand, MergeShardsCommand, PutRecordsCommand, SplitShardCommand, type Shard } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import { createDecoder, loadSchema } from '../../processor/formats/index.js';
import type { SinkRecord } from '../../processor/lifecycle.js';
import { OpenSearchSink } from '../../processor/sinks/opensearch/index.js';
import { replay } from '../../replay/replay.js';
import { assertionClient, countDocs, rawSource, readAllDocs, type StoredDoc } from '../support/opensearch-docs.js';
import { openSearchSkipReason, useOpenSearch } from '../support/opensearch.js';
import { createPipelineResources, getObject, listKeys, startServicesForTest, uniqueName, waitFor } from '../support/local.js';
import { s3PipelineFlags, startTestProcessor } from '../support/processor.js';
import { SAMPLE_CSV, sampleFacts } from '../support/sample.js';
import { tripEvent } from '../support/scale-out.js';
import { KILL_PHASES, runSoak } from '../support/soak.js';

const quiet = createLogger('test', { level: 'warn' });

describe('OpenSearch sink on a real node', { skip: openSearchSkipReason() }, () => {
  const node = useOpenSearch();
  let services: LocalServices;
  let s3: S3Client;
  let kinesis: KinesisClient;

  before(async () => {
    // moto's S3: the kill -9 soak counts open multipart uploads.
    services = await startServicesForTest({ s3: 'moto' });
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
    // LATEST is where its reader begins, after the run's first balance round (up to half a balance interval after start)
    await waitFor('the third run reading its shard', () => third.stats().activeShards >= 1);
    await new Promise((r) => setTimeout(r, 1000));
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

  test('kill -9 soak with OpenSearch beside S3: 12 SIGKILLs, some right after each checkpoint phase; one document per event, S3 exact', async (t) => {
    // Given two workers writing to S3 and OpenSearch while events keep arriving, killed at random and inside each checkpoint phase
    const endpoint = node.get().endpoint;
    const prefix = `${uniqueName('soak')}-`;
    const summary = await runSoak({
      services,
      kills: 12,
      workers: 2,
      shards: 4,
      eventsPerTick: 20,
      seed: 8,
      env: { OutputElasticsearchEndpoint: endpoint, ElasticsearchIndexPrefix: prefix, ElasticsearchBulkFlushMaxActions: '100' },
      progress: (line) => t.diagnostic(line),
    });
    const { output, ...figures } = summary;
    t.diagnostic(JSON.stringify(figures));
    assert.ok(summary.kills >= 12);
    for (const phase of KILL_PHASES) assert.ok(summary.phaseKills[phase] >= 1, `kills after the ${phase} phase: ${summary.phaseKills[phase]}`);

    // Then S3 holds every event exactly once with nothing left open
    assert.ok(summary.events > 500, `events put: ${summary.events}`);
    assert.deepEqual(output.missing.slice(0, 20), [], `${output.missing.length} events missing from S3`);
    assert.deepEqual(output.duplicates.slice(0, 20), [], `${output.duplicates.length} events twice in S3`);
    assert.equal(summary.rows, summary.events);
    assert.equal(summary.openUploads, 0);

    // And OpenSearch holds one document per event (ids 0..n-1), each with its own event
    const docs = (await readAllDocs(endpoint, `${prefix}*`)).get(`${prefix}trip`) ?? [];
    const ids = new Set(docs.map((d) => Number(d.id)));
    assert.equal(docs.length, summary.events, 'documents = distinct events');
    assert.equal(ids.size, summary.events);
    const missing = Array.from({ length: summary.events }, (_, i) => i).filter((i) => !ids.has(i));
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} events without a document`);
    assert.ok(docs.every((d) => d.source['trip_id'] === Number(d.id)), 'each document holds its own event');
    t.diagnostic(`documents: ${docs.length}; versions above 1 (rewritten by a run replaying after a kill: same event, later write): ${docs.filter((d) => d.version > 1).length}`);
  });

  test('the node answering 429 for whole requests, then down for a while: the processor waits, retries and catches up; nothing lost', async (t) => {
    // Given a node whose indexing-pressure limit refuses every bulk request of the sink (HTTP 429)
    await node.get().restart({ indexingPressureLimit: '16kb' });
    const endpoint = node.get().endpoint;
    const { stream, bucket, table } = await createPipelineResources(services, 4);
    const prefix = `${uniqueName('busy')}-`;
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('test', { level: 'warn', sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const processor = await startTestProcessor(
      [...s3PipelineFlags({ stream, bucket, table }), '--ApplicationName', uniqueName('app'), '--OutputElasticsearchEndpoint', endpoint, '--ElasticsearchIndexPrefix', prefix, '--ElasticsearchBulkFlushMaxActions', '500', '--CheckpointInterval', '1000'],
      { log },
    );
    const retries = (what: RegExp): Record<string, unknown>[] => lines.filter((l) => l['msg'] === 'OpenSearch writes to retry' && what.test(JSON.stringify(l)));

    // When the sample is replayed
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    // Then the sink gets 429 and keeps retrying
    await waitFor('the sink to retry after a 429', () => retries(/"status":429/).length >= 2, 120_000);
    assert.equal(processor.stats().eventsOut.opensearch, 0, 'nothing is written while the node refuses');

    // When the node goes down (halt) while the sink retries, then comes back in its normal mode
    const before = lines.length;
    await node.get().halt();
    await waitFor('the sink to retry while the node is down', () => lines.slice(before).some((l) => l['msg'] === 'OpenSearch writes to retry' && /Connection|ECONNREFUSED|socket/i.test(JSON.stringify(l))), 120_000);
    await node.get().restart({});
    await waitFor('all records read', () => processor.stats().eventsIn >= replayed.eventsSent, 120_000);
    await processor.stop();

    // Then every event is one document, and S3 took them all too
    const facts = sampleFacts();
    t.diagnostic(`retry rounds: ${retries(/./).length} (whole requests answered 429: ${retries(/"status":429/).length})`);
    assert.equal(processor.stats().eventsOut.opensearch, facts.rows);
    assert.equal(processor.stats().eventsOut.s3, facts.rows);
    assert.equal(await countDocs(endpoint, `${prefix}trip`), facts.rows);
    assert.equal(processor.stats().eventsRejected, 0);
  });

  test('a tiny write queue under a concurrent burst: rejected items (429 inside HTTP 200) are retried; nothing lost', async (t) => {
    // Given a node with one write thread and a queue of one, and other clients bursting bulk requests at it
    await node.get().restart({ writeThreads: 1, writeQueueSize: 1 });
    const endpoint = node.get().endpoint;
    const { stream, bucket, table } = await createPipelineResources(services, 4);
    const prefix = `${uniqueName('queue')}-`;
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('test', { level: 'warn', sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const processor = await startTestProcessor(
      [...s3PipelineFlags({ stream, bucket, table }), '--ApplicationName', uniqueName('app'), '--OutputElasticsearchEndpoint', endpoint, '--ElasticsearchIndexPrefix', prefix, '--ElasticsearchBulkFlushMaxActions', '50', '--CheckpointInterval', '500'],
      { log },
    );
    let bursting = true;
    const burst = (async () => {
      const other = assertionClient(endpoint);
      let n = 0;
      while (bursting) {
        await Promise.all(
          Array.from({ length: 8 }, () => {
            const body = Array.from({ length: 100 }, () => [{ index: { _index: `${prefix}noise` } }, { n: (n += 1), text: 'x'.repeat(200) }]).flat();
            return other.bulk({ body }).catch(() => undefined);
          }),
        );
      }
      await other.close();
    })();

    // When the sample is replayed meanwhile
    const replayed = await replay({ input: SAMPLE_CSV, streamName: stream, speedup: 1e9, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    await waitFor('all records read', () => processor.stats().eventsIn >= replayed.eventsSent, 120_000);
    await processor.stop();
    bursting = false;
    await burst;
    await node.get().restart({});

    // Then every event is one document (whether or not this run's timing made the node reject some of the sink's items)
    const itemRetries = lines.filter((l) => l['msg'] === 'OpenSearch writes to retry' && /"429 /.test(JSON.stringify(l['items'] ?? {})));
    t.diagnostic(`retry rounds after items rejected with 429: ${itemRetries.length}; whole-request retries: ${lines.filter((l) => l['msg'] === 'OpenSearch writes to retry' && l['error'] !== undefined).length}`);
    assert.equal(processor.stats().eventsOut.opensearch, sampleFacts().rows);
    assert.equal(await countDocs(endpoint, `${prefix}trip`), sampleFacts().rows);
    assert.equal(processor.stats().eventsRejected, 0);
  });

  test('bulk requests are bounded by actions, bytes and age, and pre-commit flushes the rest; an index name the node refuses makes dead letters', async () => {
    // Given the sink on its own, with small bounds
    const endpoint = node.get().endpoint;
    const schema = await loadSchema('TripEvent');
    const decode = createDecoder(schema);
    const prefix = `${uniqueName('bounds')}-`;
    const rejected: { id: unknown; reason: string }[] = [];
    let position = 1000;
    const record = (id: number, type = 'trip'): SinkRecord => {
      const raw = Buffer.from(JSON.stringify({ ...(JSON.parse(tripEvent(id)) as Record<string, unknown>), type }));
      const decoded = decode(raw);
      assert.ok(decoded.ok);
      return { event: decoded.event, raw, origin: { source: 'kinesis', stream: 's', shard: 'shardId-0', position: String((position += 1)) } };
    };
    const oneDocBytes = Buffer.byteLength(tripEvent(1)) + 150;
    const config = { kind: 'opensearch', endpoint, bulkFlushMaxActions: 7, bulkFlushMaxBytes: 1024 * 1024, bulkFlushIntervalMs: 3_600_000, indexField: 'type', indexPrefix: prefix, documentIdField: 'trip_id' } as const;
    const context = { runId: 'bounds', log: quiet, reject: (r: SinkRecord, reason: string) => rejected.push({ id: r.event.values[17], reason }) };

    // When 20 events are written with at most 7 actions per request
    const byActions = new OpenSearchSink({ config, schema });
    await byActions.start(context);
    await byActions.write(Array.from({ length: 20 }, (_, i) => record(i)));
    // Then two full requests went out during the writes and the last 6 wait for pre-commit
    assert.equal(byActions.stats.bulkRequests, 2);
    assert.equal(byActions.stats.created, 14);
    await byActions.preCommit(1);
    assert.equal(byActions.stats.bulkRequests, 3);
    assert.equal(byActions.stats.created, 20);
    await byActions.close();

    // When the size bound holds about three documents
    const bySize = new OpenSearchSink({ config: { ...config, bulkFlushMaxActions: 10_000, bulkFlushMaxBytes: oneDocBytes * 3 }, schema });
    await bySize.start(context);
    await bySize.write(Array.from({ length: 10 }, (_, i) => record(100 + i)));
    await bySize.preCommit(1);
    // Then no request carried more than three
    assert.ok(bySize.stats.bulkRequests >= 4, `requests: ${bySize.stats.bulkRequests}`);
    assert.equal(bySize.stats.created, 10);
    await bySize.close();

    // When one event waits longer than the interval, with no pre-commit
    const byAge = new OpenSearchSink({ config: { ...config, bulkFlushIntervalMs: 200 }, schema });
    await byAge.start(context);
    await byAge.write([record(200)]);
    // Then it is sent on its own
    await waitFor('the aged event to be flushed', () => byAge.stats.created === 1, 30_000);
    await byAge.close();

    // When an event's type makes an index name the node refuses (upper case)
    const badIndex = new OpenSearchSink({ config, schema });
    await badIndex.start(context);
    await badIndex.write([record(300, 'Trip'), record(301)]);
    await badIndex.preCommit(1);
    await badIndex.close();
    // Then it is a dead letter with the node's reason, and the other event is written
    assert.deepEqual(rejected.map((r) => r.id), [300n]);
    assert.match(rejected[0]!.reason, /^OpenSearch: index .*Trip cannot be created: invalid_index_name_exception/);
    assert.equal(badIndex.stats.created, 1);
    assert.equal(await countDocs(endpoint, `${prefix}trip`), 20 + 10 + 1 + 1);
  });

  test('across a split and a merge, each document ends with its latest event, and reading everything again (parents first) changes nothing', async (t) => {
    // Given a 2-shard stream and a processor writing to OpenSearch only
    const endpoint = node.get().endpoint;
    const { stream, table } = await createPipelineResources(services, 2);
    const prefix = `${uniqueName('reshard')}-`;
    const flags = ['--InputKinesisStream', stream, '--InputStreamInitalPosition', 'TRIM_HORIZON', '--CheckpointTable', table, '--CheckpointInterval', '500', '--OutputElasticsearchEndpoint', endpoint, '--ElasticsearchIndexPrefix', prefix];
    const first = await startTestProcessor([...flags, '--ApplicationName', uniqueName('first')]);
    const ids = Array.from({ length: 40 }, (_, i) => i);
    /** Round `round` of updates: every id again, tip_amount = round, keyed by the id. */
    const putRound = async (round: number): Promise<void> => {
      const put = await kinesis.send(
        new PutRecordsCommand({ StreamName: stream, Records: ids.map((id) => ({ Data: Buffer.from(JSON.stringify({ ...(JSON.parse(tripEvent(id)) as Record<string, unknown>), tip_amount: round })), PartitionKey: `trip-${id}` })) }),
      );
      assert.equal(put.FailedRecordCount, 0);
    };
    const shards = async (): Promise<Shard[]> => (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    const active = async (): Promise<boolean> => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
    const waitActive = async (): Promise<void> => {
      const deadline = Date.now() + 60_000;
      while (!(await active())) {
        if (Date.now() > deadline) throw new Error('the stream did not become active');
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    // When updates arrive in rounds, with shard 0 split after round 2 and its children merged after round 4
    await putRound(1);
    await putRound(2);
    const [s0] = (await shards()) as [Shard];
    const start0 = BigInt(s0.HashKeyRange!.StartingHashKey!);
    const end0 = BigInt(s0.HashKeyRange!.EndingHashKey!);
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: s0.ShardId!, NewStartingHashKey: String((start0 + end0) / 2n) }));
    await waitActive();
    await putRound(3);
    await putRound(4);
    const children = (await shards()).filter((s) => s.ParentShardId === s0.ShardId && s.SequenceNumberRange?.EndingSequenceNumber === undefined);
    assert.equal(children.length, 2);
    await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: children[0]!.ShardId!, AdjacentShardToMerge: children[1]!.ShardId! }));
    await waitActive();
    await putRound(5);
    await putRound(6);
    await waitFor('every round read', () => first.stats().eventsIn >= ids.length * 6, 120_000);
    await first.stop();

    // Then there is one document per id, holding its last round
    const docs = (await readAllDocs(endpoint, `${prefix}trip`)).get(`${prefix}trip`) ?? [];
    assert.equal(docs.length, ids.length);
    assert.deepEqual(docs.filter((d) => d.source['tip_amount'] !== 6).map((d) => `${d.id}: ${String(d.source['tip_amount'])}`), []);
    const moved = docs.filter((d) => d.version > 1).length;
    t.diagnostic(`${(await shards()).length} shards in all; documents rewritten by later rounds: ${moved} of ${docs.length}`);

    // When another application reads the whole stream again, parents before children (every event older than or equal to the stored one)
    const again = await startTestProcessor([...flags, '--ApplicationName', uniqueName('again')]);
    await waitFor('every round read again', () => again.stats().eventsIn >= ids.length * 6, 120_000);
    await again.stop();

    // Then nothing was written: the same documents, versions and contents
    assert.equal(again.stats().eventsOut.opensearch, 0);
    const after2 = (await readAllDocs(endpoint, `${prefix}trip`)).get(`${prefix}trip`) ?? [];
    assert.deepEqual(new Map(after2.map((d) => [d.id, [d.version, d.source['tip_amount']]])), new Map(docs.map((d) => [d.id, [d.version, d.source['tip_amount']]])));
  });
});
