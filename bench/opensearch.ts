/**
 * Benchmark of the OpenSearch sink against a real local node (Java and Maven needed; skipped
 * otherwise), as ratios to a baseline measured in the same run on the same node: plain bulk
 * `index` requests of the same documents in batches of the same size, which is what an
 * at-least-once sink without ordering would send. The sink is measured writing new documents
 * (bulk `create`s) and writing them all again (a replay: each `create` answered 409, then one
 * `_mget` of the order keys, nothing written). Rates are documents per wall-clock second (the node
 * does most of the work, in its own process); the sink's own CPU per document is printed too.
 *
 * Run: `npx tsx bench/opensearch.ts [--events 20000]`, or via `npm run bench`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@opensearch-project/opensearch';
import { createLogger } from '../common/log.js';
import { OPENSEARCH_JAVA, startOpenSearch } from '../local/opensearch.js';
import { findJava } from '../local/java.js';
import type { OpenSearchSinkConfig } from '../processor/config/types.js';
import { createDecoder, loadSchema } from '../processor/formats/index.js';
import type { SinkRecord } from '../processor/lifecycle.js';
import { OpenSearchSink } from '../processor/sinks/opensearch/index.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag } from './args.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const BATCH = 2000;

/** The results of {@link runOpenSearchBench}. */
export interface OpenSearchBenchResult {
  readonly documents: number;
  readonly baselineDocsPerSecond: number;
  readonly sinkNewDocsPerSecond: number;
  readonly sinkReplayDocsPerSecond: number;
}

/** Runs the OpenSearch sink benchmark and prints its lines; undefined when no Java is available. */
export async function runOpenSearchBench(options: { documents?: number; log?: (line: string) => void } = {}): Promise<OpenSearchBenchResult | undefined> {
  const count = options.documents ?? 20_000;
  const log = options.log ?? ((line: string) => console.log(line));
  try {
    findJava(OPENSEARCH_JAVA);
  } catch (error) {
    log(`opensearch bench: skipped (${(error as Error).message})`);
    return undefined;
  }
  const schema = await loadSchema('TripEvent');
  const decode = createDecoder(schema);
  const encoder = new TextEncoder();
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count);
  const records: SinkRecord[] = texts.map((text, i) => {
    const raw = encoder.encode(text);
    const decoded = decode(raw);
    if (!decoded.ok) throw new Error(`bench event ${i} does not decode: ${decoded.reason}`);
    return { event: decoded.event, raw, origin: { source: 'kinesis', stream: 'bench', shard: 'shardId-000000000000', position: String(10n ** 40n + BigInt(i)) } };
  });

  log(`opensearch bench: ${count} TripEvents, batches of ${BATCH}, one local node (separate process)`);
  const node = await startOpenSearch({ log: createLogger('local.opensearch', { level: 'warn' }) });
  try {
    // Baseline: plain bulk index requests of the same documents into a new index; run once to warm
    // the node up (untimed), then before and after the sink, the best of the two counting.
    const client = new Client({ node: node.endpoint, maxRetries: 0, requestTimeout: 120_000 });
    const docs = texts.map((t) => JSON.parse(t) as Record<string, unknown>);
    const baseline = async (index: string): Promise<number> => {
      const started = performance.now();
      for (let i = 0; i < docs.length; i += BATCH) {
        const body = docs.slice(i, i + BATCH).flatMap((doc) => [{ index: { _index: index, _id: String(doc['trip_id']) } }, doc]);
        const response = await client.bulk({ body });
        if (response.body.errors) throw new Error('the baseline bulk request had errors');
      }
      return (performance.now() - started) / 1000;
    };
    await baseline('warm-up');
    const baselineBefore = await baseline('baseline-1');

    const config: OpenSearchSinkConfig = {
      kind: 'opensearch',
      endpoint: node.endpoint,
      bulkFlushMaxBytes: 100 * 1024 * 1024,
      bulkFlushMaxActions: BATCH,
      bulkFlushIntervalMs: 600_000,
      indexField: 'type',
      indexPrefix: 'bench-',
      documentIdField: 'trip_id',
    };
    const measure = async (): Promise<{ seconds: number; cpuMicros: number; stats: OpenSearchSink['stats'] }> => {
      const sink = new OpenSearchSink({ config, schema });
      await sink.start({ runId: 'bench', log: createLogger('bench', { level: 'warn' }), reject: (_r, reason) => { throw new Error(`rejected: ${reason}`); } });
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < records.length; i += 500) await sink.write(records.slice(i, i + 500));
      await sink.preCommit(1);
      const seconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      const stats = sink.stats;
      await sink.close();
      return { seconds, cpuMicros: used.user + used.system, stats };
    };
    const fresh = await measure();
    if (fresh.stats.created !== count) throw new Error(`expected ${count} documents created, got ${JSON.stringify(fresh.stats)}`);
    const replay = await measure();
    if (replay.stats.unchanged !== count) throw new Error(`expected ${count} unchanged documents on replay, got ${JSON.stringify(replay.stats)}`);
    const baselineSeconds = Math.min(baselineBefore, await baseline('baseline-2'));
    await client.close();

    const result: OpenSearchBenchResult = {
      documents: count,
      baselineDocsPerSecond: Math.round(count / baselineSeconds),
      sinkNewDocsPerSecond: Math.round(count / fresh.seconds),
      sinkReplayDocsPerSecond: Math.round(count / replay.seconds),
    };
    const ratio = (n: number): string => (n / result.baselineDocsPerSecond).toFixed(3);
    log('');
    log('  measure                                              docs/s   ratio to plain bulk index');
    log(`  baseline: plain bulk index, same batches         ${String(result.baselineDocsPerSecond).padStart(9)}   1.000`);
    log(`  sink: new documents (bulk create)                ${String(result.sinkNewDocsPerSecond).padStart(9)}   ${ratio(result.sinkNewDocsPerSecond)}`);
    log(`  sink: replay (create 409, mget, nothing written)  ${String(result.sinkReplayDocsPerSecond).padStart(9)}   ${ratio(result.sinkReplayDocsPerSecond)}`);
    log(`  sink CPU in this process: ${(fresh.cpuMicros / count).toFixed(1)} µs per new document, ${(replay.cpuMicros / count).toFixed(1)} µs per replayed one`);
    return result;
  } finally {
    await node.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const documents = numberFlag('--events');
  await runOpenSearchBench(documents ? { documents } : {});
}
