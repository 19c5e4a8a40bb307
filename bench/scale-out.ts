/**
 * Scale-out benchmark: the same events on an 8-shard stream, processed by 1, 2 and 3 processor
 * processes sharing the lease table, each round into its own prefix and application. Each round
 * runs at two sizes (a stream of N/3 events and one of N), so two figures come out per worker count:
 * - whole-process: events per CPU-second of all workers, from their `stopped` lines (start-up,
 *   leases and the final checkpoint included; each worker writes its own files, so fixed costs
 *   grow with the worker count);
 * - steady state: extra events per extra CPU-second between the two sizes, which cancels the
 *   fixed costs: the cost of processing itself as workers are added.
 * Ratios are to the 1-worker round and to `JSON.parse` of the same events, measured in the same
 * run. Every round's output is checked: the workers' eventsOut add up to the events in the stream.
 * With `--repeat R`, every worker count runs R times at each size (repetitions interleaved, so a
 * change in the machine's load hits every worker count alike) and the figures use the median CPU
 * per size and worker count: each worker's fixed costs vary by tenths of a CPU-second on a shared
 * machine, which one difference of two rounds of several workers does not average out.
 *
 * Workers run the compiled CLI (dist/), as the container image does; the bench compiles it first.
 * Run: `npx tsx bench/scale-out.ts [--events 60000] [--workers 3] [--repeat 1] [--log-dir DIR]
 * [--cpu-prof DIR] [--partition-template T]`, or via `npm run bench`. `--partition-template all/`
 * writes one output partition instead of 94: the control that separates the cost of many
 * partitions per worker from the cost of more workers. `--log-dir` keeps every worker's log lines
 * (`<stream>-<workers>-r<repetition>-<worker>.log`);
 * `--cpu-prof` writes a V8 CPU profile of every worker of the large rounds.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag, stringFlag } from './args.js';
import { jsonParseBaseline, loadStreams, startLocal } from './pipeline.js';
import { buildProcessor, startWorker } from './worker.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const SHARDS = 8;

/** One round's figures. */
export interface ScaleOutRound {
  readonly workers: number;
  readonly events: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly eventsOutPerWorker: readonly number[];
  /** Checkpoints per worker: the final one, plus one per hand-over of leases to another worker. */
  readonly checkpointsPerWorker: readonly number[];
}

/** Runs `n` workers over a loaded stream until every event is read; stops them and checks the output. */
async function runRound(local: { env: Record<string, string> }, stream: string, count: number, n: number, repetition: number, diagnostics: Diagnostics): Promise<ScaleOutRound> {
  const env = {
    ...local.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    InputKinesisStream: stream,
    InputStreamInitalPosition: 'TRIM_HORIZON',
    OutputBucket: 'scale-output',
    OutputPrefix: `${stream}-workers-${n}-r${repetition}/`,
    CheckpointTable: 'scale-leases',
    ApplicationName: `${stream}-${n}-r${repetition}`,
    CheckpointInterval: '60000',
    StatusInterval: '500',
    LeaseDuration: '10000',
    ...(diagnostics.partitionTemplate !== undefined ? { OutputPartitionTemplate: diagnostics.partitionTemplate } : {}),
  };
  const wall = performance.now();
  const profile = diagnostics.cpuProfileDir !== undefined && stream === 'scale-large' ? ['--cpu-prof', '--cpu-prof-dir', join(diagnostics.cpuProfileDir, `workers-${n}-r${repetition}`)] : [];
  const workers = Array.from({ length: n }, (_, i) => startWorker(env, profile, diagnostics.logDir === undefined ? undefined : join(diagnostics.logDir, `${stream}-${n}-r${repetition}-${i + 1}.log`)));
  while (workers.reduce((sum, w) => sum + w.eventsIn, 0) < count) {
    const dead = workers.find((w) => w.child.exitCode !== null);
    if (dead) throw new Error(`a worker exited (${dead.child.exitCode}) before the events were read:\n${dead.tail.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const w of workers) w.child.kill('SIGTERM');
  const codes = await Promise.all(workers.map((w) => w.exited));
  const wallSeconds = (performance.now() - wall) / 1000;
  if (codes.some((c) => c !== 0) || workers.some((w) => !w.stopped)) throw new Error(`a worker did not stop cleanly: exit codes ${codes.join(', ')}`);
  const out = workers.map((w) => w.stopped!.eventsOut.s3 ?? 0);
  const written = out.reduce((a, b) => a + b, 0);
  if (written !== count) throw new Error(`${n} workers wrote ${written} events, expected ${count}`);
  return {
    workers: n,
    events: count,
    cpuSeconds: workers.reduce((sum, w) => sum + w.stopped!.cpuSeconds, 0),
    wallSeconds,
    eventsOutPerWorker: out,
    checkpointsPerWorker: workers.map((w) => w.stopped!.checkpoints),
  };
}

/** Where diagnostics of the workers go, if anywhere. */
interface Diagnostics {
  readonly logDir?: string;
  readonly cpuProfileDir?: string;
  /** OutputPartitionTemplate of the workers (default: the processor's, 94 partitions here). */
  readonly partitionTemplate?: string;
}

/** Runs the scale-out benchmark and prints its lines. */
export async function runScaleOutBench(options: { events?: number; maxWorkers?: number; repeat?: number; log?: (line: string) => void } & Diagnostics = {}): Promise<ScaleOutRound[]> {
  const count = options.events ?? 60_000;
  const repeat = options.repeat ?? 1;
  const small = Math.round(count / 3);
  const maxWorkers = options.maxWorkers ?? 3;
  const log = options.log ?? ((line: string) => console.log(line));
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count);
  const baseline = jsonParseBaseline(texts);
  const diagnostics: Diagnostics = {
    ...(options.logDir ? { logDir: options.logDir } : {}),
    ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
    ...(options.partitionTemplate ? { partitionTemplate: options.partitionTemplate } : {}),
  };
  for (const dir of [options.logDir, options.cpuProfileDir]) if (dir !== undefined) mkdirSync(dir, { recursive: true });
  buildProcessor(log);
  log(`scale-out bench: ${small} and ${count} TripEvents on ${SHARDS}-shard streams, 1..${maxWorkers} processor processes sharing the lease table${repeat > 1 ? `, ${repeat} repetitions (medians)` : ''}${options.partitionTemplate !== undefined ? `, OutputPartitionTemplate=${options.partitionTemplate}` : ''}`);
  const local = await startLocal('scale-large', SHARDS, 'scale-output', 'scale-leases');
  const rounds: ScaleOutRound[] = [];
  try {
    Object.assign(process.env, local.env);
    await loadStreams(texts, [['scale-small', small], ['scale-large', count]], SHARDS);
    for (let r = 1; r <= repeat; r += 1) {
      for (let n = 1; n <= maxWorkers; n += 1) {
        log(`  ${n} worker(s)${repeat > 1 ? `, repetition ${r}` : ''} ...`);
        rounds.push(await runRound(local, 'scale-small', small, n, r, diagnostics));
        rounds.push(await runRound(local, 'scale-large', count, n, r, diagnostics));
      }
    }
  } finally {
    await local.stop();
  }
  const median = (values: readonly number[]): number => {
    const sorted = [...values].sort((x, y) => x - y);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const figures = Array.from({ length: maxWorkers }, (_, i) => {
    const of = (events: number): ScaleOutRound[] => rounds.filter((r) => r.workers === i + 1 && r.events === events);
    const [a, b] = [median(of(small).map((r) => r.cpuSeconds)), median(of(count).map((r) => r.cpuSeconds))];
    return { workers: i + 1, whole: count / b, steady: (count - small) / Math.max(0.01, b - a), cpuLarge: of(count).map((r) => r.cpuSeconds), large: of(count).at(-1)! };
  });
  const one = figures[0]!;
  log('');
  log(`  workers   whole: events/CPU-s  × 1 worker   steady: events/CPU-s  × 1 worker  × JSON.parse   CPU s (large)  events per worker (checkpoints)${repeat > 1 ? ', last repetition' : ''}`);
  log(`  baseline  JSON.parse ${String(Math.round(baseline)).padStart(9)}`);
  for (const f of figures) {
    log(
      `  ${String(f.workers).padStart(7)}   ${String(Math.round(f.whole)).padStart(19)}  ${(f.whole / one.whole).toFixed(3).padStart(10)}   ${String(Math.round(f.steady)).padStart(20)}  ${(f.steady / one.steady).toFixed(3).padStart(10)}  ${(f.steady / baseline).toFixed(3).padStart(11)}   ${f.cpuLarge.map((c) => c.toFixed(1)).join(' ').padStart(13)}  ${f.large.eventsOutPerWorker.map((e, i) => `${e} (${f.large.checkpointsPerWorker[i]})`).join(' / ')}`,
    );
  }
  return rounds;
}
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const events = numberFlag('--events');
  const workers = numberFlag('--workers');
  const logDir = stringFlag('--log-dir');
  const cpuProfileDir = stringFlag('--cpu-prof');
  const repeat = numberFlag('--repeat');
  const partitionTemplate = stringFlag('--partition-template');
  await runScaleOutBench({
    ...(partitionTemplate ? { partitionTemplate } : {}),
    ...(events ? { events } : {}),
    ...(workers ? { maxWorkers: workers } : {}),
    ...(repeat ? { repeat } : {}),
    ...(logDir ? { logDir } : {}),
    ...(cpuProfileDir ? { cpuProfileDir } : {}),
  });
}
