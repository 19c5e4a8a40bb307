/**
 * Benchmark of the S3 sink's per-file cost: the same events written once as F part files of M rows
 * (F partitions) and once as 1 file of F x M rows, through the real partitioned writer, the real
 * Parquet encoder and the real S3 client, to the local S3 (etl-local, in its own process, so its
 * CPU is not counted). CPU per extra file = (CPU of the F-file round - CPU of the 1-file round) /
 * (F - 1), for each phase of the two-phase commit: append, preCommit (roll: encode + upload the
 * parts of an uncommitted multipart upload) and commit (complete). Rounds alternate; the first pair
 * is cold (JIT and WebAssembly tier-up, first connections), the later ones show the per-file cost
 * of every later checkpoint of a long-running processor.
 *
 * Run: `npx tsx bench/part-files.ts [--files 94] [--rows 2128] [--pairs 5]`. The defaults are the
 * 94 partitions of 200,000 TripEvents under the default template.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger } from '../common/log.js';
import { createDecoder, createFileFormat, loadSchema, type DecodedEvent } from '../processor/formats/index.js';
import { PartitionedWriter, type PlacedItem } from '../processor/sinks/s3/partitioned-writer.js';
import { createS3Client } from '../processor/sinks/s3/s3-sink.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag } from './args.js';
import { startLocal } from './pipeline.js';
import { cpuSeconds, median } from './measure.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const BUCKET = 'bench-part-files';

/** Options of {@link runPartFilesBench}. */
export interface PartFilesBenchOptions {
  /** Files (partitions) in the many-files round. @default 94 */
  readonly files?: number;
  /** Rows per file in the many-files round. @default 2128 */
  readonly rows?: number;
  /** Alternating pairs of rounds (many files, one file). @default 5 */
  readonly pairs?: number;
  readonly log?: (line: string) => void;
}

/** CPU (ms) of each phase of one round. */
interface RoundCpu {
  readonly append: number;
  readonly preCommit: number;
  readonly commit: number;
  readonly bytes: number;
}

/** The per-file figures of one pair of rounds. */
export interface PartFilesPair {
  /** Extra CPU per extra file, ms: all phases, and roll (preCommit) and commit alone. */
  readonly perFileMs: number;
  readonly rollPerFileMs: number;
  readonly commitPerFileMs: number;
  /** CPU of the many-files round over CPU of the one-file round (same events). */
  readonly ratio: number;
  readonly bytesPerFile: number;
}

/** The results of {@link runPartFilesBench}. */
export interface PartFilesBenchResult {
  readonly files: number;
  readonly rows: number;
  readonly pairs: readonly PartFilesPair[];
  /** Median over the pairs after the first (warm). */
  readonly warmPerFileMs: number;
  readonly warmRatio: number;
}

/** Runs the benchmark and prints a line per pair and a summary. */
export async function runPartFilesBench(options: PartFilesBenchOptions = {}): Promise<PartFilesBenchResult> {
  const files = options.files ?? 94;
  const rows = options.rows ?? 2128;
  const pairCount = options.pairs ?? 5;
  if (files < 2) throw new Error(`--files must be at least 2, got ${files}`);
  const log = options.log ?? ((line: string) => console.log(line));
  const schema = await loadSchema('TripEvent');
  const decode = createDecoder(schema);
  const encoder = new TextEncoder();
  const events: DecodedEvent[] = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), files * rows).map((text, i) => {
    const result = decode(encoder.encode(text));
    if (!result.ok) throw new Error(`bench event ${i} rejected: ${result.reason}`);
    return result.event;
  });
  const many: PlacedItem<DecodedEvent>[] = events.map((item, i) => ({ partition: `p=${String(i % files).padStart(3, '0')}/`, item }));
  const one: PlacedItem<DecodedEvent>[] = events.map((item) => ({ partition: 'all/', item }));
  const format = await createFileFormat(schema, { format: 'parquet', parquetEncoder: 'parquet-wasm', compression: 'SNAPPY' });
  log(`part-files bench: ${files} files of ${rows} TripEvents vs 1 file of ${files * rows}, ${pairCount} alternating pairs; the local S3 in its own process`);

  const local = await startLocal('bench-part-files', 1, BUCKET, 'bench-part-files-checkpoints');
  Object.assign(process.env, local.env);
  const client = createS3Client();
  const quiet = createLogger('part-files-bench', { level: 'warn' });
  let run = 0;
  async function round(items: readonly PlacedItem<DecodedEvent>[]): Promise<RoundCpu> {
    run += 1;
    const writer = new PartitionedWriter<DecodedEvent>({
      client,
      bucket: BUCKET,
      keyPrefix: `round-${run}/`,
      extension: format.extension,
      contentType: format.contentType,
      newBuilder: () => format.createEncoder(),
      rolloverSizeBytes: 1024 * 1024 * 1024,
      rolloverIntervalMs: 3_600_000,
      inactivityIntervalMs: 3_600_000,
      log: quiet,
      runId: `bench${run}`,
    });
    const now = Date.now();
    let start = process.cpuUsage();
    for (let i = 0; i < items.length; i += 500) await writer.append(items.slice(i, i + 500), now);
    const append = cpuSeconds(start) * 1000;
    start = process.cpuUsage();
    const pending = await writer.preCommit();
    const preCommit = cpuSeconds(start) * 1000;
    start = process.cpuUsage();
    const committed = await writer.commit(pending);
    const commit = cpuSeconds(start) * 1000;
    if (committed !== items.length) throw new Error(`expected ${items.length} events committed, got ${committed}`);
    return { append, preCommit, commit, bytes: pending.reduce((sum, p) => sum + p.bytes, 0) };
  }

  const pairs: PartFilesPair[] = [];
  try {
    for (let p = 0; p < pairCount; p += 1) {
      // Alternate which round goes first, so a drift of the machine's load favours neither.
      const a = p % 2 === 0 ? await round(many) : undefined;
      const b = await round(one);
      const m = a ?? (await round(many));
      const total = (r: RoundCpu): number => r.append + r.preCommit + r.commit;
      const pair: PartFilesPair = {
        perFileMs: (total(m) - total(b)) / (files - 1),
        rollPerFileMs: (m.preCommit - b.preCommit) / (files - 1),
        commitPerFileMs: (m.commit - b.commit) / (files - 1),
        ratio: total(m) / total(b),
        bytesPerFile: m.bytes / files,
      };
      pairs.push(pair);
      log(
        `  pair ${p + 1}${p === 0 ? ' (cold)' : '       '}: ${files} files ${total(m).toFixed(0)} ms CPU (append ${m.append.toFixed(0)}, roll ${m.preCommit.toFixed(0)}, commit ${m.commit.toFixed(0)}), ` +
          `1 file ${total(b).toFixed(0)} ms (append ${b.append.toFixed(0)}, roll ${b.preCommit.toFixed(0)}, commit ${b.commit.toFixed(0)}); ` +
          `per extra file ${pair.perFileMs.toFixed(2)} ms (roll ${pair.rollPerFileMs.toFixed(2)}, commit ${pair.commitPerFileMs.toFixed(2)}); ratio ${pair.ratio.toFixed(2)}; ${(pair.bytesPerFile / 1024).toFixed(1)} KiB/file`,
      );
    }
  } finally {
    client.destroy();
    await local.stop();
  }
  const warm = pairs.slice(1);
  const result: PartFilesBenchResult = {
    files,
    rows,
    pairs,
    warmPerFileMs: warm.length > 0 ? median(warm.map((p) => p.perFileMs)) : (pairs[0] as PartFilesPair).perFileMs,
    warmRatio: warm.length > 0 ? median(warm.map((p) => p.ratio)) : (pairs[0] as PartFilesPair).ratio,
  };
  log(`  CPU per extra file: cold ${(pairs[0] as PartFilesPair).perFileMs.toFixed(2)} ms, warm (median of pairs 2..${pairCount}) ${result.warmPerFileMs.toFixed(2)} ms; ${files} files / 1 file CPU ratio: cold ${(pairs[0] as PartFilesPair).ratio.toFixed(2)}, warm ${result.warmRatio.toFixed(2)}`);
  log(`  JSON ${JSON.stringify({ files, rows, warmPerFileMs: result.warmPerFileMs, warmRatio: result.warmRatio, coldPerFileMs: (pairs[0] as PartFilesPair).perFileMs })}`);
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = numberFlag('--files');
  const rows = numberFlag('--rows');
  const pairs = numberFlag('--pairs');
  await runPartFilesBench({ ...(files ? { files } : {}), ...(rows ? { rows } : {}), ...(pairs ? { pairs } : {}) });
}
