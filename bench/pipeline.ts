/**
 * Benchmark of the whole processor: Kinesis -> decode -> partitioned Parquet on S3, on the local
 * services, reported as events per CPU-second of the processor's process ("per core") and as a
 * ratio to a baseline measured in the same run: plain `JSON.parse` of the same events, the ceiling
 * of a JSON-in pipeline. The local services run in a separate process (`etl-local`), so their CPU
 * is not counted against the processor; the processor's wall-clock rate is printed too, with that
 * caveat (it waits on kinesalite and s3rver).
 *
 * Run: `npx tsx bench/pipeline.ts [--events 100000] [--shards 2] [--checkpoint-interval MS]
 * [--partition-template T] [--cpu-prof DIR] [--no-read-back] [--repeat R] [--node-args "…"] [--parquet-encoder native|parquet-wasm|parquetjs-lite]`, or via
 * `npm run bench`. `--repeat R` runs each size R times, alternated, and uses the median CPU per size
 * (a shared machine moves one run's CPU by ±20%); `--node-args` passes flags to the processor's node.
 * `--partition-template all/` writes one file per checkpoint instead of 94: the difference in CPU
 * is the per-file cost. `--events 1000000` measures at 250k and 1M events.
 *
 * The N round's output is read back and compared row for row, partition directory included, with
 * what an independent oracle (scripts/expected-output.py, pyarrow only) computes from the same
 * events; the bench fails if they differ (`--no-read-back` skips it, e.g. without the venv).
 *
 * It also prints the 16-shard figure of issue 11: the event bytes one CPU-second of the processor
 * handles in steady state against the full read rate of a 16-shard stream (2 MiB/s per shard,
 * 32 MiB/s), i.e. whether one task with 1 vCPU keeps up with it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../common/aws.js';
import { PutRecordsWriter } from '../common/kinesis/index.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { nodeArgsFlag, numberFlag } from './args.js';
import { compareOutputs, describeComparison, downloadObjects, writeExpectedOutput } from './read-back.js';
import { buildProcessor, startWorker } from './worker.js';
import { cpuSeconds, median } from './measure.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const LAUNCH_LOCAL = fileURLToPath(new URL('../scripts/launch/etl-local.mjs', import.meta.url));
const WORK = fileURLToPath(new URL('../.cache/bench-pipeline', import.meta.url));

/** The full read rate of one Kinesis shard: 2 MiB/s of record data (GetRecords). */
const SHARD_READ_BYTES_PER_SECOND = 2 * 1024 * 1024;
/** The stream one task with 1 vCPU must keep up with (issue 11). */
const TARGET_SHARDS = 16;

/** Below this CPU difference between the rounds, the steady-state figure is noise. */
const STEADY_MIN_CPU_SECONDS = 1;

/** Options of {@link runPipelineBench}. */
export interface PipelineBenchOptions {
  /** Events in the stream. @default 100000 */
  readonly events?: number;
  /** Shards of the stream. @default 2 */
  readonly shards?: number;
  /** Parquet encoder to use. @default native (the processor's default) */
  readonly parquetEncoder?: 'native' | 'parquet-wasm' | 'parquetjs-lite';
  /** Checkpoint interval (ms) of the processor. @default 3600000 (longer than the run: only the final checkpoint) */
  readonly checkpointIntervalMs?: number;
  /** OutputPartitionTemplate of the processor (a literal such as `all/` for one file per checkpoint; an empty value means the default). @default the processor's default (94 partitions for these events) */
  readonly partitionTemplate?: string;
  /** Write a V8 CPU profile of the N-event processor process into this directory. */
  readonly cpuProfileDir?: string;
  /** Read the N round's output back and compare it with the oracle's. @default true */
  readonly readBack?: boolean;
  /**
   * Runs of each size, alternated (N/4, N, N/4, N, …) so a change in the machine's load hits both
   * sizes alike; the figures use the median CPU per size. @default 1
   */
  readonly repeat?: number;
  /** Extra arguments for the processor's node (e.g. `--max-semi-space-size=32`), to compare settings. */
  readonly nodeArgs?: readonly string[];
  readonly log?: (line: string) => void;
}

/** The results of {@link runPipelineBench}. */
export interface PipelineBenchResult {
  readonly events: number;
  readonly baselineEventsPerCpuSecond: number;
  readonly pipelineEventsPerCpuSecond: number;
  /** Extra events per extra CPU-second between the N/4 and the N round. */
  readonly steadyEventsPerCpuSecond: number;
  readonly pipelineEventsPerWallSecond: number;
  readonly ratioToBaseline: number;
  readonly steadyRatioToBaseline: number;
  readonly peakRssMiB: number;
  /** Objects written by the N round. */
  readonly files: number;
  /** Mean bytes of one event's record data. */
  readonly bytesPerEvent: number;
  /** Steady-state record bytes per CPU-second over the full read rate of a 16-shard stream (≥ 1: one vCPU keeps up). */
  readonly sixteenShardRatio: number;
  /** Rows read back and found equal to the oracle's (0 when not read back). */
  readonly rowsReadBack: number;
  /** With `repeat` > 1: the steady-state figure of each (N/4, N) pair, lowest to highest, events per CPU-second. */
  readonly steadyPerPair: readonly number[];
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

/** Creates a second stream on the same local Kinesis and waits until it is active. */
export async function createStream(client: KinesisClient, name: string, shards: number): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let i = 0; i < 400; i += 1) {
    const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`stream ${name} did not become active`);
}

/**
 * Loads the first N texts into each stream (the last stream exists already, made by etl-local; the
 * others are created with `shards` shards), through the batching PutRecords writer.
 */
export async function loadStreams(texts: readonly string[], streams: readonly (readonly [string, number])[], shards: number): Promise<void> {
  const kinesis = new KinesisClient(baseClientConfig());
  try {
    for (const [stream] of streams.slice(0, -1)) await createStream(kinesis, stream, shards);
    const encoder = new TextEncoder();
    for (const [stream, n] of streams) {
      const writer = new PutRecordsWriter({ client: kinesis, stream, maxInFlight: 8 });
      for (let i = 0; i < n; i += 500) {
        await writer.write(texts.slice(i, Math.min(n, i + 500)).map((t, j) => ({ data: encoder.encode(t), partitionKey: String(i + j) })));
      }
      await writer.flush();
      await writer.close();
    }
  } finally {
    kinesis.destroy();
  }
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

/** One processor process over one loaded stream. */
export interface Round {
  readonly events: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly checkpoints: number;
  readonly files: number;
}

async function countObjects(bucket: string, prefix: string): Promise<number> {
  const s3 = new S3Client(baseClientConfig());
  let files = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    files += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  s3.destroy();
  return files;
}

/**
 * Runs one processor process (processor/cli.ts) over `stream` until `count` events are read, then
 * stops it (final checkpoint) and checks the count written. `tag` makes a repetition's application
 * and output prefix its own (`<stream>-<tag>/`).
 */
export async function runRound(env: Record<string, string>, stream: string, count: number, options: PipelineBenchOptions, nodeArgs: readonly string[], tag?: string): Promise<Round> {
  const name = tag === undefined ? stream : `${stream}-${tag}`;
  const prefix = `${name}/`;
  const wall = performance.now();
  const worker = startWorker(
    {
      ...env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOG_LEVEL: 'info',
      InputKinesisStream: stream,
      InputStreamInitalPosition: 'TRIM_HORIZON',
      OutputBucket: 'bench-output',
      OutputPrefix: prefix,
      CheckpointTable: 'bench-checkpoints',
      ApplicationName: `bench-${name}`,
      // Longer than the run unless checkpoints are measured: files roll at every checkpoint.
      CheckpointInterval: String(options.checkpointIntervalMs ?? 3_600_000),
      StatusInterval: '200',
      // One worker, no contention: a long lease keeps a starved local DynamoDB (a loaded machine) from stopping the run.
      LeaseDuration: '60000',
      ParquetEncoder: options.parquetEncoder ?? 'native',
      ...(options.partitionTemplate === undefined ? {} : { OutputPartitionTemplate: options.partitionTemplate }),
    },
    nodeArgs,
  );
  while (worker.eventsIn < count) {
    if (worker.child.exitCode !== null) throw new Error(`the processor exited (${worker.child.exitCode}) before the events were read:\n${worker.tail.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  worker.child.kill('SIGTERM');
  const code = await worker.exited;
  const wallSeconds = (performance.now() - wall) / 1000;
  if (code !== 0 || !worker.stopped) throw new Error(`the processor did not stop cleanly (exit ${code}):\n${worker.tail.join('\n')}`);
  const written = worker.stopped.eventsOut.s3 ?? 0;
  if (written !== count) throw new Error(`expected ${count} events written, got ${written}`);
  return { events: count, cpuSeconds: worker.stopped.cpuSeconds, wallSeconds, peakRssMiB: worker.stopped.peakRssMiB, checkpoints: worker.stopped.checkpoints, files: await countObjects('bench-output', prefix) };
}

/**
 * Reads the N round's output (under `prefix` of the bench bucket) back and compares it row for row
 * with the oracle's output for the same events; throws when they differ. Returns the rows compared.
 */
async function readBack(texts: readonly string[], prefix: string, partitionTemplate: string | undefined, log: (line: string) => void): Promise<number> {
  await rm(WORK, { recursive: true, force: true });
  const template = partitionTemplate === undefined || partitionTemplate === '' ? 'default' : partitionTemplate;
  log(`  reading the output back (${texts.length} rows) and comparing it with scripts/expected-output.py's ...`);
  await writeExpectedOutput(texts, template, join(WORK, 'expected'));
  await downloadObjects('bench-output', prefix, join(WORK, 'ours'));
  const comparison = await compareOutputs(join(WORK, 'expected'), join(WORK, 'ours'));
  const line = describeComparison(comparison, 'expected', 'ours');
  if (!comparison.equal) throw new Error(`the processor's output differs from the expected output: ${line}`);
  log(`  read back: ${line}`);
  await rm(WORK, { recursive: true, force: true });
  return comparison.compared;
}

/**
 * Runs the pipeline benchmark and prints its lines. The processor runs in its own process
 * (processor/cli.ts), once over a stream of N/4 events and once over N: whole-process figures come
 * from the N round (start-up and the final checkpoint included), steady state from the difference
 * (extra events per extra CPU-second), which cancels the fixed costs.
 */
export async function runPipelineBench(options: PipelineBenchOptions = {}): Promise<PipelineBenchResult> {
  const count = options.events ?? 100_000;
  const small = Math.round(count / 4);
  const shards = options.shards ?? 2;
  const log = options.log ?? ((line: string) => console.log(line));
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count);
  const baseline = jsonParseBaseline(texts);
  buildProcessor(log);

  log(`pipeline bench: ${small} and ${count} TripEvents, ${shards} shards; the processor and the local services each in their own process`);
  const local = await startLocal('bench-large', shards, 'bench-output', 'bench-checkpoints');
  try {
    Object.assign(process.env, local.env);
    log('  loading the streams ...');
    await loadStreams(texts, [['bench-small', small], ['bench-large', count]], shards);
    log('  processing ...');
    const profile = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
    const nodeArgs = options.nodeArgs ?? [];
    const repeat = Math.max(1, options.repeat ?? 1);
    const smalls: Round[] = [];
    const larges: Round[] = [];
    for (let r = 0; r < repeat; r += 1) {
      const tag = r === 0 ? undefined : `r${r}`;
      smalls.push(await runRound(local.env, 'bench-small', small, options, nodeArgs, tag));
      // The first N round is the one profiled, counted and read back.
      larges.push(await runRound(local.env, 'bench-large', count, options, r === 0 ? [...nodeArgs, ...profile] : nodeArgs, tag));
      if (repeat > 1) log(`    pair ${r + 1}/${repeat}: CPU ${smalls[r]!.cpuSeconds.toFixed(2)} s and ${larges[r]!.cpuSeconds.toFixed(2)} s (load ${loadavg()[0]!.toFixed(1)})`);
    }
    const a = smalls[0]!;
    const b = larges[0]!;
    const smallCpu = median(smalls.map((x) => x.cpuSeconds));
    const largeCpu = median(larges.map((x) => x.cpuSeconds));
    const whole = count / largeCpu;
    /** Extra events per extra CPU-second between an N/4 and an N round. */
    const steadyRate = (smallSeconds: number, largeSeconds: number): number => (count - small) / Math.max(0.01, largeSeconds - smallSeconds);
    const steady = steadyRate(smallCpu, largeCpu);
    const steadyPerPair = repeat === 1 ? [] : smalls.map((x, i) => steadyRate(x.cpuSeconds, larges[i]!.cpuSeconds)).sort((x, y) => x - y);
    const bytesPerEvent = texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0) / texts.length;
    const needEventsPerSecond = (TARGET_SHARDS * SHARD_READ_BYTES_PER_SECOND) / bytesPerEvent;
    const rowsReadBack = options.readBack === false ? 0 : await readBack(texts, 'bench-large/', options.partitionTemplate, log);
    const result: PipelineBenchResult = {
      events: count,
      baselineEventsPerCpuSecond: Math.round(baseline),
      pipelineEventsPerCpuSecond: Math.round(whole),
      steadyEventsPerCpuSecond: Math.round(steady),
      pipelineEventsPerWallSecond: Math.round(count / b.wallSeconds),
      ratioToBaseline: whole / baseline,
      steadyRatioToBaseline: steady / baseline,
      peakRssMiB: b.peakRssMiB,
      files: b.files,
      bytesPerEvent: Math.round(bytesPerEvent),
      sixteenShardRatio: steady / needEventsPerSecond,
      rowsReadBack,
      steadyPerPair: steadyPerPair.map(Math.round),
    };
    log('');
    log('  measure                                               events/s   ratio to JSON.parse');
    log(`  baseline: JSON.parse, per CPU-second                ${String(result.baselineEventsPerCpuSecond).padStart(9)}   1.000`);
    log(`  processor whole process (N), per CPU-s              ${String(result.pipelineEventsPerCpuSecond).padStart(9)}   ${result.ratioToBaseline.toFixed(3)}`);
    log(`  processor steady state (N/4 -> N), per CPU-s        ${String(result.steadyEventsPerCpuSecond).padStart(9)}   ${result.steadyRatioToBaseline.toFixed(3)}`);
    if (steadyPerPair.length > 0) {
      log(`  (medians of ${repeat} runs per size; the pairs alone: ${steadyPerPair.map((x) => (x / baseline).toFixed(3)).join(', ')}× JSON.parse)`);
    }
    // The processor reports its CPU in hundredths of a second, and a shared machine adds tenths.
    if (largeCpu - smallCpu < STEADY_MIN_CPU_SECONDS) log(`  (steady state unreliable: the rounds differ by ${(largeCpu - smallCpu).toFixed(2)} s of CPU; use --events 100000 or more)`);
    log(`  processor wall clock (waits on local servers)       ${String(result.pipelineEventsPerWallSecond).padStart(9)}   ${(result.pipelineEventsPerWallSecond / baseline).toFixed(3)}`);
    log(
      `  ${TARGET_SHARDS} shards at 2 MiB/s each (${Math.round(needEventsPerSecond)} events/s of ${result.bytesPerEvent} bytes): ` +
        `steady state handles ${((steady * bytesPerEvent) / 1024 / 1024).toFixed(1)} MiB per CPU-second, ${result.sixteenShardRatio.toFixed(2)}× the ${TARGET_SHARDS * 2} MiB/s ` +
        `(${result.sixteenShardRatio >= 1 ? 'one vCPU keeps up' : 'one vCPU does not keep up'})`,
    );
    for (const r of repeat === 1 ? [a, b] : [...smalls, ...larges]) {
      log(`  ${String(r.events).padStart(7)} events: CPU ${r.cpuSeconds.toFixed(2)} s over ${r.wallSeconds.toFixed(2)} s wall; peak RSS ${r.peakRssMiB} MiB; checkpoints ${r.checkpoints}; files ${r.files}`);
    }
    log(`  JSON ${JSON.stringify(result)}`);
    return result;
  } finally {
    await local.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const events = numberFlag('--events');
  const shards = numberFlag('--shards');
  const checkpointIntervalMs = numberFlag('--checkpoint-interval');
  const repeat = numberFlag('--repeat');
  const nodeArgs = nodeArgsFlag();
  const at = process.argv.indexOf('--cpu-prof');
  const cpuProfileDir = at === -1 ? undefined : process.argv[at + 1];
  if (at !== -1 && (cpuProfileDir === undefined || cpuProfileDir.startsWith('--'))) throw new Error('--cpu-prof needs a directory');
  const t = process.argv.indexOf('--partition-template');
  const partitionTemplate = t === -1 ? undefined : process.argv[t + 1];
  if (t !== -1 && partitionTemplate === undefined) throw new Error('--partition-template needs a template (a literal such as all/ for one partition)');
  const e = process.argv.indexOf('--parquet-encoder');
  const parquetEncoder = e === -1 ? undefined : process.argv[e + 1];
  if (e !== -1 && !['native', 'parquet-wasm', 'parquetjs-lite'].includes(parquetEncoder ?? '')) throw new Error(`--parquet-encoder: expected native, parquet-wasm or parquetjs-lite, got ${JSON.stringify(parquetEncoder)}`);
  await runPipelineBench({
    ...(parquetEncoder ? { parquetEncoder: parquetEncoder as 'native' | 'parquet-wasm' | 'parquetjs-lite' } : {}),
    ...(events ? { events } : {}),
    ...(shards ? { shards } : {}),
    ...(checkpointIntervalMs ? { checkpointIntervalMs } : {}),
    ...(cpuProfileDir ? { cpuProfileDir } : {}),
    ...(partitionTemplate === undefined ? {} : { partitionTemplate }),
    ...(repeat ? { repeat } : {}),
    ...(nodeArgs ? { nodeArgs } : {}),
    readBack: !process.argv.includes('--no-read-back'),
  });
}
