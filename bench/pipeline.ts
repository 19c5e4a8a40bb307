/**
 * Benchmark of the whole processor: Kinesis -> decode -> partitioned Parquet on S3, on the local
 * services, reported as events per CPU-second of the processor's process ("per core") and as a
 * ratio to a baseline measured in the same run: plain `JSON.parse` of the same events, the ceiling
 * of a JSON-in pipeline. The local services run in a separate process (`etl-local`), so their CPU
 * is not counted against the processor; the processor's wall-clock rate is printed too, with that
 * caveat (it waits on kinesalite and s3rver).
 *
 * Run: `npx tsx bench/pipeline.ts [--events 100000] [--shards 2]`, or via `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { baseClientConfig } from '../common/aws.js';
import { PutRecordsWriter } from '../common/kinesis/index.js';
import { createLogger } from '../common/log.js';
import { loadConfig } from '../processor/config/index.js';
import { startProcessor } from '../processor/processor.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag } from './args.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const LAUNCH_LOCAL = fileURLToPath(new URL('../scripts/launch/etl-local.mjs', import.meta.url));

/** Options of {@link runPipelineBench}. */
export interface PipelineBenchOptions {
  /** Events in the stream. @default 100000 */
  readonly events?: number;
  /** Shards of the stream. @default 2 */
  readonly shards?: number;
  /** Parquet encoder to use. @default parquet-wasm */
  readonly parquetEncoder?: 'parquet-wasm' | 'parquetjs-lite';
  readonly log?: (line: string) => void;
}

/** The results of {@link runPipelineBench}. */
export interface PipelineBenchResult {
  readonly events: number;
  readonly baselineEventsPerCpuSecond: number;
  readonly pipelineEventsPerCpuSecond: number;
  readonly pipelineEventsPerWallSecond: number;
  readonly ratioToBaseline: number;
  readonly peakRssMiB: number;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/** `JSON.parse` of the texts, events per CPU-second: best of 3 after a warm-up (the baseline of every processor bench). */
export function jsonParseBaseline(texts: readonly string[]): number {
  let sink = 0;
  for (const t of texts.slice(0, 10_000)) sink += (JSON.parse(t) as { trip_id: number }).trip_id;
  let baseline = 0;
  for (let round = 0; round < 3; round += 1) {
    const start = process.cpuUsage();
    for (const t of texts) sink += (JSON.parse(t) as { trip_id: number }).trip_id;
    baseline = Math.max(baseline, texts.length / cpuSeconds(start));
  }
  if (sink === 0) throw new Error('unreachable');
  return baseline;
}

/** Starts etl-local in a child process; resolves with its environment and a stop function. */
export async function startLocal(stream: string, shards: number, bucket: string, table: string): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [LAUNCH_LOCAL, '--stream', stream, '--shards', String(shards), '--bucket', bucket, '--table', table], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`etl-local exited with ${code} before it was ready`)));
  });
  const { env } = JSON.parse(first) as { env: Record<string, string> };
  return {
    env,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs the pipeline benchmark and prints its lines. */
export async function runPipelineBench(options: PipelineBenchOptions = {}): Promise<PipelineBenchResult> {
  const count = options.events ?? 100_000;
  const shards = options.shards ?? 2;
  const log = options.log ?? ((line: string) => console.log(line));
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count);
  const encoder = new TextEncoder();
  const records = texts.map((t) => encoder.encode(t));

  const baseline = jsonParseBaseline(texts);

  log(`pipeline bench: ${count} TripEvents, ${shards} shards, local services in a separate process`);
  const local = await startLocal('bench-trips', shards, 'bench-output', 'bench-checkpoints');
  try {
    Object.assign(process.env, local.env);
    log('  loading the stream ...');
    const kinesis = new KinesisClient(baseClientConfig());
    const writer = new PutRecordsWriter({ client: kinesis, stream: 'bench-trips', maxInFlight: 8 });
    for (let i = 0; i < records.length; i += 500) {
      await writer.write(records.slice(i, i + 500).map((data, j) => ({ data, partitionKey: String(i + j) })));
    }
    await writer.flush();
    await writer.close();
    kinesis.destroy();

    const loaded = await loadConfig({
      argv: [
        '--InputKinesisStream', 'bench-trips',
        '--InputStreamInitalPosition', 'TRIM_HORIZON',
        '--OutputBucket', 'bench-output',
        '--CheckpointTable', 'bench-checkpoints',
        '--CheckpointInterval', '10000',
        '--StatusInterval', '600000',
        '--ParquetEncoder', options.parquetEncoder ?? 'parquet-wasm',
      ],
      env: {},
    });
    if (loaded.help) throw new Error('unreachable');
    log('  processing ...');
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const processor = await startProcessor(loaded.config, { log: createLogger('processor', { level: 'warn' }) });
    let lastShown = 0;
    while (processor.stats().eventsIn < count) {
      await new Promise((r) => setTimeout(r, 20));
      const n = processor.stats().eventsIn;
      if (n - lastShown >= count / 5) {
        lastShown = n;
        log(`  ... ${n} of ${count} events read`);
      }
    }
    await processor.stop();
    const cpuUsed = cpuSeconds(cpu);
    const wallUsed = (performance.now() - wall) / 1000;
    const stats = processor.stats();
    if (stats.eventsOut.s3 !== count) throw new Error(`expected ${count} events written, got ${stats.eventsOut.s3}`);
    const result: PipelineBenchResult = {
      events: count,
      baselineEventsPerCpuSecond: Math.round(baseline),
      pipelineEventsPerCpuSecond: Math.round(count / cpuUsed),
      pipelineEventsPerWallSecond: Math.round(count / wallUsed),
      ratioToBaseline: count / cpuUsed / baseline,
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    log('');
    log('  measure                                         events/s   ratio to JSON.parse');
    log(`  baseline: JSON.parse, per CPU-second          ${String(result.baselineEventsPerCpuSecond).padStart(9)}   1.000`);
    log(`  processor: Kinesis -> Parquet/S3, per CPU-s    ${String(result.pipelineEventsPerCpuSecond).padStart(9)}   ${result.ratioToBaseline.toFixed(3)}`);
    log(`  processor: wall clock (waits on local servers) ${String(result.pipelineEventsPerWallSecond).padStart(9)}   ${(result.pipelineEventsPerWallSecond / baseline).toFixed(3)}`);
    log(`  processor CPU ${cpuUsed.toFixed(2)} s over ${wallUsed.toFixed(2)} s wall; peak RSS ${result.peakRssMiB} MiB; checkpoints ${stats.checkpoints}`);
    return result;
  } finally {
    await local.stop();
  }
}


if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const events = numberFlag('--events');
  const shards = numberFlag('--shards');
  await runPipelineBench({ ...(events ? { events } : {}), ...(shards ? { shards } : {}) });
}
