/**
 * Benchmark of the event decoder and the file encoders, as ratios against a baseline measured
 * in the same run: `JSON.parse` of the same events' JSON text. Events are TripEvents made
 * deterministically from the bundled 1,000-row taxi sample (trip_id varies).
 *
 * Run: `npx tsx bench/encoders.ts [--rows 200000] [--lite-rows 20000]`, or call
 * {@link runEncoderBench} (bench/run.ts does).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDecoder, createFileFormat, loadSchema } from '../processor/formats/index.js';
import type { DecodedEvent, FileFormatOptions } from '../processor/formats/index.js';
import { numberFlag } from './args.js';
import { peakRssMiB } from '../common/peak-rss.js';

/** Options of {@link runEncoderBench}. */
export interface EncoderBenchOptions {
  /** Events per measurement. @default 200000 */
  readonly rows?: number;
  /** Events for parquetjs-lite, which is about 30 times slower. @default 20000 */
  readonly liteRows?: number;
  /** Where progress and the table go. @default console.log */
  readonly log?: (line: string) => void;
  /** The taxi sample CSV. @default the bundled data/nyc-tlc sample */
  readonly samplePath?: string;
}

/** One measured line. */
export interface EncoderBenchEntry {
  readonly name: string;
  readonly rows: number;
  readonly rowsPerSec: number;
  /** rowsPerSec divided by the baseline's. */
  readonly ratio: number;
  /** Output size (encoders only). */
  readonly bytes?: number;
  /** The process's peak resident set so far (cumulative over the run), MiB. */
  readonly peakRssMiB: number;
  readonly note?: string;
}

/** The results of {@link runEncoderBench}. */
export interface EncoderBenchResult {
  readonly baseline: EncoderBenchEntry;
  readonly entries: readonly EncoderBenchEntry[];
}

const DEFAULT_SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));

/** Runs the benchmark and prints a table of ratios. */
export async function runEncoderBench(options: EncoderBenchOptions = {}): Promise<EncoderBenchResult> {
  const rows = options.rows ?? 200_000;
  const liteRows = Math.min(options.liteRows ?? 20_000, rows);
  const log = options.log ?? ((line: string) => console.log(line));
  const schema = await loadSchema('TripEvent');
  const sample = sampleTripEvents(readFileSync(options.samplePath ?? DEFAULT_SAMPLE, 'utf8'));
  const texts = makeEventTexts(sample, rows);
  const encoder = new TextEncoder();
  const records = texts.map((t) => encoder.encode(t));
  log(`encoders bench: ${rows} TripEvents from ${sample.length} sample rows (${(records.reduce((s, r) => s + r.length, 0) / rows).toFixed(0)} bytes/event)`);

  // Baseline: JSON.parse of the same text; best of 3 after a warm-up.
  const baselineRate = best(3, () => {
    let sink = 0;
    const start = process.hrtime.bigint();
    for (const text of texts) sink += (JSON.parse(text) as { vendor_id: number }).vendor_id;
    return rate(rows, start, sink);
  });
  const baseline: EncoderBenchEntry = { name: 'JSON.parse (baseline)', rows, rowsPerSec: baselineRate, ratio: 1, peakRssMiB: peakRssMiB() };

  const decode = createDecoder(schema);
  const events: DecodedEvent[] = new Array<DecodedEvent>(rows);
  const decoderRate = best(3, () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < rows; i += 1) {
      const result = decode(records[i] as Uint8Array);
      if (!result.ok) throw new Error(`bench event ${i} rejected: ${result.reason}`);
      events[i] = result.event;
    }
    return rate(rows, start, 0);
  });
  const entries: EncoderBenchEntry[] = [
    { name: 'decoder (bytes -> DecodedEvent)', rows, rowsPerSec: decoderRate, ratio: decoderRate / baselineRate, peakRssMiB: peakRssMiB() },
  ];

  const encoders: { name: string; options: FileFormatOptions; rows: number; note?: string }[] = [
    { name: 'parquet-wasm (default), SNAPPY', options: { format: 'parquet', parquetEncoder: 'parquet-wasm', compression: 'SNAPPY' }, rows },
    { name: 'parquet-wasm, ZSTD', options: { format: 'parquet', parquetEncoder: 'parquet-wasm', compression: 'ZSTD' }, rows },
    {
      name: 'parquetjs-lite, SNAPPY',
      options: { format: 'parquet', parquetEncoder: 'parquetjs-lite', compression: 'SNAPPY' },
      rows: liteRows,
      ...(liteRows < rows ? { note: `${liteRows} rows only (slow)` } : {}),
    },
    { name: 'json-lines', options: { format: 'json' }, rows },
  ];
  for (const spec of encoders) {
    const format = await createFileFormat(schema, spec.options);
    const encodeAll = async (count: number): Promise<{ perSec: number; bytes: number }> => {
      const start = process.hrtime.bigint();
      const file = format.createEncoder();
      for (let i = 0; i < count; i += 1) file.append(events[i] as DecodedEvent);
      const bytes = await file.finish();
      return { perSec: rate(count, start, 0), bytes: bytes.length };
    };
    await encodeAll(Math.min(spec.rows, 20_000)); // warm-up
    // best of 2 (1 for the slow parquetjs-lite): the machine may be shared
    let { perSec, bytes } = await encodeAll(spec.rows);
    if (spec.rows === rows) {
      const again = await encodeAll(spec.rows);
      if (again.perSec > perSec) ({ perSec, bytes } = again);
    }
    entries.push({
      name: spec.name,
      rows: spec.rows,
      rowsPerSec: perSec,
      ratio: perSec / baselineRate,
      bytes,
      peakRssMiB: peakRssMiB(),
      ...(spec.note === undefined ? {} : { note: spec.note }),
    });
  }

  log(formatTable(baseline, entries));
  return { baseline, entries };
}

function formatTable(baseline: EncoderBenchEntry, entries: readonly EncoderBenchEntry[]): string {
  const header = ['', 'rows', 'rows/s', 'x JSON.parse', 'bytes/row', 'peak RSS MiB so far', 'note'];
  const lines = [baseline, ...entries].map((e) => [
    e.name,
    String(e.rows),
    Math.round(e.rowsPerSec).toLocaleString('en-US'),
    e.ratio.toFixed(3),
    e.bytes === undefined ? '' : (e.bytes / e.rows).toFixed(1),
    e.peakRssMiB.toFixed(0),
    e.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const render = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd();
  return [render(header), ...lines.map(render)].join('\n');
}

function best(times: number, measure: () => number): number {
  measure(); // warm-up
  let top = 0;
  for (let i = 0; i < times; i += 1) top = Math.max(top, measure());
  return top;
}

function rate(count: number, start: bigint, _sink: number): number {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return count / seconds;
}

/** The JSON texts of `count` TripEvents: the sample rows in turn, trip_id 1..count. */
export function makeEventTexts(sample: readonly Record<string, unknown>[], count: number): string[] {
  const texts = new Array<string>(count);
  for (let i = 0; i < count; i += 1) {
    const row = sample[i % sample.length] as Record<string, unknown>;
    texts[i] = JSON.stringify({ ...row, trip_id: i + 1 });
  }
  return texts;
}

/**
 * The sample CSV's rows as TripEvent JSON objects (without trip_id). A deliberately small
 * conversion for benchmarks and tests (the replay tool has the real one): the sample's local
 * New York times are all in winter (EST, UTC-5), which this checks.
 */
export function sampleTripEvents(csv: string): Record<string, unknown>[] {
  const lines = csv.split(/\r?\n/).filter((l) => l !== '');
  return lines.slice(1).map((line, index) => {
    const c = splitCsvLine(line);
    return {
      vendor_id: Number(c[0]),
      pickup_datetime: winterNewYorkToIso(c[1] as string, index),
      dropoff_datetime: winterNewYorkToIso(c[2] as string, index),
      passenger_count: Number(c[3]),
      trip_distance: Number(c[4]),
      ratecode_id: Number(c[5]),
      store_and_fwd_flag: c[6],
      pickup_location_id: Number(c[7]),
      dropoff_location_id: Number(c[8]),
      payment_type: Number(c[9]),
      fare_amount: Number(c[10]),
      extra: Number(c[11]),
      mta_tax: Number(c[12]),
      tip_amount: Number(c[13]),
      tolls_amount: Number(c[14]),
      improvement_surcharge: Number(c[15]),
      total_amount: Number(c[16]),
      type: 'trip',
    };
  });
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      const end = line.indexOf('"', i + 1);
      cells.push(line.slice(i + 1, end));
      i = end + 2;
    } else {
      const end = line.indexOf(',', i);
      const stop = end === -1 ? line.length : end;
      cells.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  return cells;
}

/** `1/1/2018, 2:21:05 AM` (New York, winter) as ISO-8601 UTC. */
function winterNewYorkToIso(text: string, row: number): string {
  const m = /^(\d+)\/(\d+)\/(\d{4}), (\d+):(\d\d):(\d\d) (AM|PM)$/.exec(text);
  if (m === null) throw new Error(`sample row ${row + 1}: unexpected time ${JSON.stringify(text)}`);
  const [, month, day, year, hour12, minute, second, half] = m;
  if (![1, 2, 12].includes(Number(month))) throw new Error(`sample row ${row + 1}: ${text} is not in winter (EST)`);
  const hour = (Number(hour12) % 12) + (half === 'PM' ? 12 : 0);
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), hour + 5, Number(minute), Number(second));
  return new Date(utc).toISOString();
}


if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = numberFlag('--rows');
  const liteRows = numberFlag('--lite-rows');
  await runEncoderBench({ ...(rows === undefined ? {} : { rows }), ...(liteRows === undefined ? {} : { liteRows }) });
}
