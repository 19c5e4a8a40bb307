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
 * [--cpu-prof DIR] [--partition-template T] [--node-args "--single-threaded-gc …"]`, or via `npm run bench`. `--partition-template all/`
 * writes one output partition instead of 94: the control that separates the cost of many
 * partitions per worker from the cost of more workers. `--log-dir` keeps every worker's log lines
 * (`<stream>-<workers>-r<repetition>-<worker>.log`);
 * `--cpu-prof` writes a V8 CPU profile of every worker of every round
 * (`<stream>-workers-<n>-r<repetition>/`; `bench/profile-diff.ts` splits the steady state by function).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { nodeArgsFlag, numberFlag, stringFlag } from './args.js';
import { jsonParseBaseline, loadStreams, startLocal } from './pipeline.js';
import { buildProcessor, startWorker, threadTotal, type ThreadCpu } from './worker.js';
import { median } from './measure.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const SHARDS = 8;

/**
 * A process that keeps one core busy for the whole round, not counted: `spin` on a few bytes
 * (time-sharing alone), `memory` with random reads and writes over 128 MB (time-sharing plus the
 * cache and TLB misses of a large working set). One worker with two contenders has the machine
 * load of three workers with none of their coordination: the control for `--contend`.
 */
const CONTENDER: Record<'spin' | 'memory', string> = {
  spin: 'let s = 0; for (;;) { for (let k = 0; k < 1e7; k += 1) s = (s * 31 + k) | 0; if (s === 0.5) break; }',
  memory:
    'const a = new Float64Array(16 * 1024 * 1024); let i = 1, s = 0; for (;;) { for (let k = 0; k < 1e6; k += 1) { i = (Math.imul(i, 1103515245) + 12345) & 0xffffff; s += a[i]; a[i] = s + k; } if (s === 0.5) break; }',
};

/** One round's figures. */
export interface ScaleOutRound {
  readonly workers: number;
  /** Busy processes running beside the workers (not counted), and their kind. */
  readonly contenders?: { readonly count: number; readonly kind: 'spin' | 'memory' };
  readonly events: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly eventsOutPerWorker: readonly number[];
  /** Checkpoints per worker: the final one, plus one per hand-over of leases to another worker. */
  readonly checkpointsPerWorker: readonly number[];
  /** Whole-process CPU seconds per worker (its `stopped` line). */
  readonly cpuPerWorker: readonly number[];
  /** CPU per worker by thread (last /proc sample before it exited), where /proc exists. */
  readonly threadsPerWorker: readonly (ThreadCpu | undefined)[];
  /**
   * CPU seconds per worker by phase, where /proc exists: until its first events were reported
   * (start-up, leases; up to one status interval of reading), until its events last grew (reading),
   * until the bench stopped it (idle at the tip of its shards while others read), and after (the
   * final checkpoint).
   */
  readonly phasesPerWorker: readonly ({ start: number; reading: number; idle: number; final: number } | undefined)[];
  /** The machine's 1-minute load average when the round ended. */
  readonly load: number;
}

/** Least squares: the β minimising |Xβ - y|, by the normal equations (a handful of columns). */
export function leastSquares(x: readonly (readonly number[])[], y: readonly number[]): number[] {
  const k = x[0]?.length ?? 0;
  const a = Array.from({ length: k }, (_, i) => [...Array.from({ length: k }, (_, j) => x.reduce((s, row) => s + row[i]! * row[j]!, 0)), x.reduce((s, row, r) => s + row[i]! * y[r]!, 0)]);
  for (let c = 0; c < k; c += 1) {
    const pivot = a.slice(c).reduce((best, row, i) => (Math.abs(row[c]!) > Math.abs(a[best]![c]!) ? c + i : best), c);
    [a[c], a[pivot]] = [a[pivot]!, a[c]!];
    if (Math.abs(a[c]![c]!) < 1e-12) throw new Error(`least squares: column ${c} is not determined by the rounds`);
    for (let r = 0; r < k; r += 1) {
      if (r === c) continue;
      const f = a[r]![c]! / a[c]![c]!;
      for (let j = c; j <= k; j += 1) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((row, i) => row[k]! / row[i]!);
}

/**
 * Each worker's CPU as fixed + per-event + per-second costs, fitted over every round of the run:
 * cpu = fixed + perEvent[variant] × events + perSecond × wall. The per-second term is what a
 * worker spends however busy it is (lease renewals and balancing, status lines, GetRecords at the
 * tip of its shards once read: about 20 ms a second idle); wall time grows with the machine's
 * load, so the difference of two rounds charges it to the events. A worker that read nothing is
 * left out (it wrote no files: another fixed cost).
 */
export function fitCosts(rounds: readonly ScaleOutRound[], variantOf: (r: ScaleOutRound) => number, variants: number): { fixed: number; perSecond: number; perEvent: number[] } {
  const x: number[][] = [];
  const y: number[] = [];
  for (const r of rounds) {
    r.cpuPerWorker.forEach((cpu, i) => {
      const events = r.eventsOutPerWorker[i]!;
      if (events === 0) return;
      const row = [1, r.wallSeconds, ...Array.from({ length: variants }, () => 0)];
      row[2 + variantOf(r)] = events;
      x.push(row);
      y.push(cpu);
    });
  }
  const [fixed, perSecond, ...perEvent] = leastSquares(x, y);
  return { fixed: fixed!, perSecond: perSecond!, perEvent };
}

/** `2 workers`, or `1 worker + 2 memory` (one worker beside two contenders). */
function variantName(v: { n: number; contenders?: { count: number; kind: 'spin' | 'memory' } }): string {
  return `${v.n} worker${v.n === 1 ? '' : 's'}${v.contenders ? ` + ${v.contenders.count} ${v.contenders.kind}` : ''}`;
}

/** `start 1.2, reading 1.9, idle 0.1, final 0.4 s`: CPU by phase. */
function phaseSplit(p: { start: number; reading: number; idle: number; final: number } | undefined): string {
  return p === undefined ? 'no phases' : `start ${p.start.toFixed(2)}, reading ${p.reading.toFixed(2)}, idle ${p.idle.toFixed(2)}, final ${p.final.toFixed(2)} s`;
}

/** `main 3.1+0.2 s, 9 others 0.4+0.1 s; 80k faults, 900/300 switches`: user+system CPU of the main thread and of the other threads, minor page faults, voluntary/involuntary context switches. */
function threadSplit(t: ThreadCpu | undefined): string {
  if (t === undefined) return 'no /proc';
  return `main ${t.mainUser.toFixed(2)}+${t.mainSystem.toFixed(2)} s, ${t.otherThreads} others ${t.otherUser.toFixed(2)}+${t.otherSystem.toFixed(2)} s; ${Math.round(t.minorFaults / 1000)}k faults, ${t.voluntarySwitches}/${t.involuntarySwitches} switches`;
}

/** Runs `n` workers over a loaded stream until every event is read; stops them and checks the output. */
async function runRound(
  local: { env: Record<string, string> },
  stream: string,
  count: number,
  n: number,
  repetition: number,
  diagnostics: Diagnostics,
  contenders?: { count: number; kind: 'spin' | 'memory' },
): Promise<ScaleOutRound> {
  const busy = Array.from({ length: contenders?.count ?? 0 }, () => spawn(process.execPath, ['-e', CONTENDER[contenders!.kind]], { stdio: 'ignore' }));
  try {
    return await runWorkers(local, stream, count, n, contenders === undefined ? `${repetition}` : `${repetition}-${contenders.kind}`, diagnostics, contenders);
  } finally {
    for (const b of busy) b.kill('SIGKILL');
  }
}

async function runWorkers(
  local: { env: Record<string, string> },
  stream: string,
  count: number,
  n: number,
  repetition: string,
  diagnostics: Diagnostics,
  contenders: { count: number; kind: 'spin' | 'memory' } | undefined,
): Promise<ScaleOutRound> {
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
  // Both sizes, so the steady state can be split by function: (large - small) per worker count.
  const profile = diagnostics.cpuProfileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', join(diagnostics.cpuProfileDir, `${stream}-workers-${n}-r${repetition}`)] : [];
  const nodeArgs = [...(diagnostics.nodeArgs ?? []), ...profile];
  const workers = Array.from({ length: n }, (_, i) => startWorker(env, nodeArgs, diagnostics.logDir === undefined ? undefined : join(diagnostics.logDir, `${stream}-${n}-r${repetition}-${i + 1}.log`)));
  while (workers.reduce((sum, w) => sum + w.eventsIn, 0) < count) {
    const dead = workers.find((w) => w.child.exitCode !== null);
    if (dead) throw new Error(`a worker exited (${dead.child.exitCode}) before the events were read:\n${dead.tail.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const cpuAtStop = workers.map((w) => (w.threads === undefined ? undefined : threadTotal(w.threads)));
  for (const w of workers) w.child.kill('SIGTERM');
  const codes = await Promise.all(workers.map((w) => w.exited));
  const wallSeconds = (performance.now() - wall) / 1000;
  if (codes.some((c) => c !== 0) || workers.some((w) => !w.stopped)) throw new Error(`a worker did not stop cleanly: exit codes ${codes.join(', ')}`);
  const out = workers.map((w) => w.stopped!.eventsOut.s3 ?? 0);
  const written = out.reduce((a, b) => a + b, 0);
  if (written !== count) throw new Error(`${n} workers wrote ${written} events, expected ${count}`);
  return {
    workers: n,
    ...(contenders ? { contenders } : {}),
    events: count,
    cpuSeconds: workers.reduce((sum, w) => sum + w.stopped!.cpuSeconds, 0),
    wallSeconds,
    eventsOutPerWorker: out,
    checkpointsPerWorker: workers.map((w) => w.stopped!.checkpoints),
    cpuPerWorker: workers.map((w) => w.stopped!.cpuSeconds),
    threadsPerWorker: workers.map((w) => w.threads),
    phasesPerWorker: workers.map((w, i) => {
      const [first, last, stop] = [w.cpuAtFirstEvents, w.cpuAtLastEvents, cpuAtStop[i]];
      return first === undefined || last === undefined || stop === undefined ? undefined : { start: first, reading: last - first, idle: stop - last, final: w.stopped!.cpuSeconds - stop };
    }),
    load: loadavg()[0]!,
  };
}

/** Where diagnostics of the workers go, if anywhere. */
interface Diagnostics {
  readonly logDir?: string;
  readonly cpuProfileDir?: string;
  /** OutputPartitionTemplate of the workers (default: the processor's, 94 partitions here). */
  readonly partitionTemplate?: string;
  /** Node options of every worker (e.g. `--single-threaded-gc`), before the CLI. */
  readonly nodeArgs?: readonly string[];
}

/** Runs the scale-out benchmark and prints its lines. */
export async function runScaleOutBench(options: { events?: number; maxWorkers?: number; repeat?: number; contend?: number; log?: (line: string) => void } & Diagnostics = {}): Promise<ScaleOutRound[]> {
  const count = options.events ?? 60_000;
  const repeat = options.repeat ?? 1;
  const small = Math.round(count / 3);
  const maxWorkers = options.maxWorkers ?? 3;
  const contend = options.contend ?? 0;
  const log = options.log ?? ((line: string) => console.log(line));
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count);
  const baseline = jsonParseBaseline(texts);
  const diagnostics: Diagnostics = {
    ...(options.logDir ? { logDir: options.logDir } : {}),
    ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
    ...(options.partitionTemplate ? { partitionTemplate: options.partitionTemplate } : {}),
    ...(options.nodeArgs && options.nodeArgs.length > 0 ? { nodeArgs: options.nodeArgs } : {}),
  };
  for (const dir of [options.logDir, options.cpuProfileDir]) if (dir !== undefined) mkdirSync(dir, { recursive: true });
  buildProcessor(log);
  log(
    `scale-out bench: ${small} and ${count} TripEvents on ${SHARDS}-shard streams, 1..${maxWorkers} processor processes sharing the lease table${repeat > 1 ? `, ${repeat} repetitions (medians)` : ''}${options.partitionTemplate !== undefined ? `, OutputPartitionTemplate=${options.partitionTemplate}` : ''}${diagnostics.nodeArgs ? `, worker node options: ${diagnostics.nodeArgs.join(' ')}` : ''}`,
  );
  const local = await startLocal('scale-large', SHARDS, 'scale-output', 'scale-leases');
  const rounds: ScaleOutRound[] = [];
  const variants: { n: number; contenders?: { count: number; kind: 'spin' | 'memory' } }[] = [
    ...Array.from({ length: maxWorkers }, (_, i) => ({ n: i + 1 })),
    ...(contend > 0 ? (['spin', 'memory'] as const).map((kind) => ({ n: 1, contenders: { count: contend, kind } })) : []),
  ];
  try {
    Object.assign(process.env, local.env);
    await loadStreams(texts, [['scale-small', small], ['scale-large', count]], SHARDS);
    for (let r = 1; r <= repeat; r += 1) {
      for (const v of variants) {
        log(`  ${variantName(v)}${repeat > 1 ? `, repetition ${r}` : ''} ...`);
        for (const [stream, events] of [['scale-small', small], ['scale-large', count]] as const) {
          const round = await runRound(local, stream, events, v.n, r, diagnostics, v.contenders);
          rounds.push(round);
          log(
            `    ${events} events: ${round.cpuSeconds.toFixed(2)} CPU-s, ${round.wallSeconds.toFixed(1)} s wall, load ${round.load.toFixed(1)}; per worker: ${round.cpuPerWorker
              .map((c, i) => `${c.toFixed(2)} s (${threadSplit(round.threadsPerWorker[i])}; ${phaseSplit(round.phasesPerWorker[i])}) ${round.eventsOutPerWorker[i]} events`)
              .join(' | ')}`,
          );
        }
      }
    }
  } finally {
    await local.stop();
  }
  const figures = variants.map((v) => {
    const of = (events: number): ScaleOutRound[] =>
      rounds.filter((r) => r.workers === v.n && r.events === events && r.contenders?.kind === v.contenders?.kind);
    const [a, b] = [median(of(small).map((r) => r.cpuSeconds)), median(of(count).map((r) => r.cpuSeconds))];
    return { name: variantName(v), whole: count / b, steady: (count - small) / Math.max(0.01, b - a), cpuLarge: of(count).map((r) => r.cpuSeconds), large: of(count).at(-1)! };
  });
  const one = figures[0]!;
  const fit = fitCosts(rounds, (r) => variants.findIndex((v) => v.n === r.workers && v.contenders?.kind === r.contenders?.kind), variants.length);
  log('');
  log(`  ${'workers'.padStart(22)}   whole: events/CPU-s  × 1 worker   steady: events/CPU-s  × 1 worker  × JSON.parse   CPU s (large)  events per worker (checkpoints)${repeat > 1 ? ', last repetition' : ''}`);
  log(`  ${'baseline'.padStart(22)}  JSON.parse ${String(Math.round(baseline)).padStart(9)}`);
  for (const f of figures) {
    log(
      `  ${f.name.padStart(22)}   ${String(Math.round(f.whole)).padStart(19)}  ${(f.whole / one.whole).toFixed(3).padStart(10)}   ${String(Math.round(f.steady)).padStart(20)}  ${(f.steady / one.steady).toFixed(3).padStart(10)}  ${(f.steady / baseline).toFixed(3).padStart(11)}   ${f.cpuLarge.map((c) => c.toFixed(1)).join(' ').padStart(13)}  ${f.large.eventsOutPerWorker.map((e, i) => `${e} (${f.large.checkpointsPerWorker[i]})`).join(' / ')}`,
    );
  }
  log('');
  log(
    `  fitted per worker over all rounds: CPU = ${fit.fixed.toFixed(2)} s + ${(fit.perSecond * 1000).toFixed(1)} ms per wall second + per-event cost; events per CPU-second of the per-event cost, × 1 worker`,
  );
  log(
    `  (a diagnostic, not a verdict: wall time follows the events, so without --contend rounds the per-second term is barely determined; an idle worker costs about 20 ms a second)`,
  );
  for (const [i, v] of variants.entries()) {
    const rate = 1 / fit.perEvent[i]!;
    log(`  ${variantName(v).padStart(22)}   ${String(Math.round(rate)).padStart(8)}  ${(rate * fit.perEvent[0]!).toFixed(3)}`);
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
  const contend = numberFlag('--contend');
  const nodeArgs = nodeArgsFlag();
  await runScaleOutBench({
    ...(nodeArgs ? { nodeArgs } : {}),
    ...(contend ? { contend } : {}),
    ...(partitionTemplate ? { partitionTemplate } : {}),
    ...(events ? { events } : {}),
    ...(workers ? { maxWorkers: workers } : {}),
    ...(repeat ? { repeat } : {}),
    ...(logDir ? { logDir } : {}),
    ...(cpuProfileDir ? { cpuProfileDir } : {}),
  });
}
