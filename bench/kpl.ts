/**
 * Benchmark of KPL de-aggregation (processor/sources/kinesis/kpl.ts): the cost per user record,
 * as a ratio against a baseline measured in the same run, `JSON.parse` of the same records' JSON
 * text (what the decoder does to every record anyway). Records are TripEvents made from the
 * bundled taxi sample, packed into aggregates of the KPL's default size (51,200 bytes) and of the
 * Kinesis maximum (1 MiB). A ratio above 1 means de-aggregating a record costs less than parsing it.
 *
 * Run: `npx tsx bench/kpl.ts [--records 200000]`, or call {@link runKplBench} (bench/run.ts does).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { aggregate, deaggregate } from '../processor/sources/kinesis/kpl.js';
import type { AggregatedRecordOut } from '../processor/sources/kinesis/kpl-types.js';
import { numberFlag } from './args.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';

/** Options of {@link runKplBench}. */
export interface KplBenchOptions {
  /** User records per measurement. @default 200000 */
  readonly records?: number;
  /** Where the table goes. @default console.log */
  readonly log?: (line: string) => void;
}

/** One measured line: user records per second and the ratio to the baseline's. */
export interface KplBenchEntry {
  readonly name: string;
  readonly recordsPerSec: number;
  readonly ratio: number;
  readonly note: string;
}

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
/** The KPL's default AggregationMaxSize. */
const KPL_DEFAULT_AGGREGATE_BYTES = 51_200;

function best(times: number, measure: () => number): number {
  measure(); // warm-up
  let top = 0;
  for (let i = 0; i < times; i += 1) top = Math.max(top, measure());
  return top;
}

function perSecond(count: number, start: bigint): number {
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

function deaggregateAll(aggregates: readonly AggregatedRecordOut[], count: number): number {
  const start = process.hrtime.bigint();
  let n = 0;
  for (let i = 0; i < aggregates.length; i += 1) {
    const a = aggregates[i] as AggregatedRecordOut;
    const result = deaggregate({ data: a.data, sequenceNumber: String(i), partitionKey: a.partitionKey });
    if (!result.ok) throw result.error;
    n += result.records.length;
  }
  if (n !== count) throw new Error(`de-aggregated ${n} user records, expected ${count}`);
  return perSecond(count, start);
}

/** Runs the benchmark and prints a table of ratios. */
export async function runKplBench(options: KplBenchOptions = {}): Promise<{ baseline: number; entries: KplBenchEntry[] }> {
  const count = options.records ?? 200_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const encoder = new TextEncoder();
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count);
  const users = texts.map((t, i) => ({ data: encoder.encode(t), partitionKey: String(i + 1) }));
  const avg = users.reduce((s, u) => s + u.data.byteLength, 0) / count;
  log(`KPL bench: ${count} TripEvents (${avg.toFixed(0)} bytes each) as user records`);

  const baseline = best(3, () => {
    const start = process.hrtime.bigint();
    let sink = 0;
    for (const text of texts) sink += (JSON.parse(text) as { vendor_id: number }).vendor_id;
    if (sink < 0) throw new Error('unreachable');
    return perSecond(count, start);
  });

  const entries: KplBenchEntry[] = [];
  for (const maxBytes of [KPL_DEFAULT_AGGREGATE_BYTES, 1024 * 1024]) {
    const aggregates = aggregate(users, { maxBytes });
    const rate = best(3, () => deaggregateAll(aggregates, count));
    entries.push({
      name: `deaggregate, ${maxBytes === KPL_DEFAULT_AGGREGATE_BYTES ? '50 KiB' : '1 MiB'} aggregates`,
      recordsPerSec: rate,
      ratio: rate / baseline,
      note: `${aggregates.length} aggregates, ${(count / aggregates.length).toFixed(0)} records each, MD5 checked`,
    });
  }
  const plain = users.map((u) => ({ data: u.data, partitionKey: u.partitionKey, userRecords: 1, aggregated: false }));
  const passRate = best(3, () => deaggregateAll(plain, count));
  entries.push({ name: 'deaggregate, plain records', recordsPerSec: passRate, ratio: passRate / baseline, note: 'pass-through (magic check only)' });
  const aggregateRate = best(3, () => {
    const start = process.hrtime.bigint();
    aggregate(users, { maxBytes: KPL_DEFAULT_AGGREGATE_BYTES });
    return perSecond(count, start);
  });
  entries.push({ name: 'aggregate, 50 KiB aggregates', recordsPerSec: aggregateRate, ratio: aggregateRate / baseline, note: 'what etl-replay --aggregate does per record' });

  const rows = [['', 'records/s', 'x JSON.parse', 'note'], ['JSON.parse (baseline)', Math.round(baseline).toLocaleString('en-US'), '1.000', '']];
  for (const e of entries) rows.push([e.name, Math.round(e.recordsPerSec).toLocaleString('en-US'), e.ratio.toFixed(3), e.note]);
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  for (const r of rows) log(r.map((c, i) => (i === 0 || i === 3 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd());
  return { baseline, entries };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runKplBench({ records: numberFlag('--records') ?? 200_000 });
}
