/**
 * A processor process for the benchmarks: the compiled CLI (dist/processor/cli.js, as the image
 * runs it) in its own Node process, so the
 * bench's own data (the test texts, the loaders) is not in the processor's heap and its CPU is
 * not counted. Figures come from the processor's own `stopped` line (`cpuSeconds`, whole process)
 * and its status lines (`eventsIn`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PROCESSOR_NODE_FLAGS } from '../common/node-flags.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The compiled CLI, as the container image runs it (no TypeScript compilation in the processor's CPU). */
const CLI = fileURLToPath(new URL('../dist/processor/cli.js', import.meta.url));

/** Compiles the processor into dist/ (`npm run build`), as the image does; call once before starting workers. */
export function buildProcessor(log: (line: string) => void): void {
  log('  compiling the processor (npm run build), as the container image runs it ...');
  const out = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`npm run build failed: ${out.stdout}${out.stderr}`);
}

/** One processor process. */
export interface Worker {
  readonly child: ChildProcess;
  readonly tail: string[];
  eventsIn: number;
  stopped?: { cpuSeconds: number; eventsOut: Record<string, number>; peakRssMiB: number; checkpoints: number };
  /**
   * The process's CPU by thread, sampled from /proc every 100 ms while it runs (undefined where
   * /proc is missing; a thread that exited counts with its last sample): the main thread (JavaScript, and the GC work it does itself) against
   * every other thread (V8's GC and compiler helpers, libuv's pool). Up to 100 ms before the exit,
   * so a little below `stopped.cpuSeconds`.
   */
  threads?: ThreadCpu;
  /** CPU seconds of all threads (from `threads`) when the first events were reported: start-up, leases and recovery. */
  cpuAtFirstEvents?: number;
  /** CPU seconds of all threads when `eventsIn` last grew (the end of its reading, up to a status interval late). */
  cpuAtLastEvents?: number;
  readonly exited: Promise<number | null>;
}

/** CPU seconds of a process split by thread, from /proc/<pid>/task/<tid>/stat. */
export interface ThreadCpu {
  readonly mainUser: number;
  readonly mainSystem: number;
  readonly otherUser: number;
  readonly otherSystem: number;
  /** Threads other than the main one. */
  readonly otherThreads: number;
  /** Minor page faults of all threads (memory the kernel mapped in on first touch). */
  readonly minorFaults: number;
  /** Context switches of all threads: waits (voluntary) and preemptions (involuntary). */
  readonly voluntarySwitches: number;
  readonly involuntarySwitches: number;
}

/** One thread's counters. */
interface ThreadSample {
  readonly user: number;
  readonly system: number;
  readonly minorFaults: number;
  readonly voluntarySwitches: number;
  readonly involuntarySwitches: number;
}

/** CPU seconds of all threads. */
export function threadTotal(t: ThreadCpu): number {
  return t.mainUser + t.mainSystem + t.otherUser + t.otherSystem;
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** user and system CPU seconds of each thread of `pid` (by thread id) from /proc; undefined if the process is gone or /proc is missing. */
export function readThreadCpu(pid: number): Map<number, ThreadSample> | undefined {
  const threads = new Map<number, ThreadSample>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const user = Number(fields[11]) / USER_HZ;
      const system = Number(fields[12]) / USER_HZ;
      const minorFaults = Number(fields[7]);
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const voluntarySwitches = Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1] ?? 0);
      const involuntarySwitches = Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1] ?? 0);
      if (Number.isFinite(user) && Number.isFinite(system)) threads.set(Number(tid), { user, system, minorFaults, voluntarySwitches, involuntarySwitches });
    }
  } catch {
    // The process (or a thread) exited between the listing and the read; what was read stays.
  }
  return threads.size > 0 ? threads : undefined;
}

/** Sums per-thread samples into main thread and others; `seen` keeps each thread's last sample, so threads that exited still count. */
function splitThreads(pid: number, seen: ReadonlyMap<number, ThreadSample>): ThreadCpu {
  let mainUser = 0;
  let mainSystem = 0;
  let otherUser = 0;
  let otherSystem = 0;
  let otherThreads = 0;
  let minorFaults = 0;
  let voluntarySwitches = 0;
  let involuntarySwitches = 0;
  for (const [tid, t] of seen) {
    minorFaults += t.minorFaults;
    voluntarySwitches += t.voluntarySwitches;
    involuntarySwitches += t.involuntarySwitches;
    if (tid === pid) {
      mainUser = t.user;
      mainSystem = t.system;
    } else {
      otherUser += t.user;
      otherSystem += t.system;
      otherThreads += 1;
    }
  }
  return { mainUser, mainSystem, otherUser, otherSystem, otherThreads, minorFaults, voluntarySwitches, involuntarySwitches };
}

/**
 * Starts the compiled CLI with `env` (runtime properties as variables); `nodeArgs` e.g. `--cpu-prof`;
 * `logFile`: every log line of the worker is also written there. Call `buildProcessor` first.
 */
export function startWorker(env: Record<string, string>, nodeArgs: readonly string[] = [], logFile?: string): Worker {
  const child = spawn(process.execPath, [...PROCESSOR_NODE_FLAGS, ...nodeArgs, CLI], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const worker: Worker = { child, tail: [], eventsIn: 0, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  const seen = new Map<number, ThreadSample>();
  const sample = setInterval(() => {
    const pid = child.pid;
    if (pid === undefined || child.exitCode !== null) return;
    const threads = readThreadCpu(pid);
    if (threads === undefined) return;
    // CPU counters only grow: a smaller value is a reused thread id or a read during exit, not kept.
    for (const [tid, t] of threads) if (t.user + t.system >= (seen.get(tid)?.user ?? 0) + (seen.get(tid)?.system ?? 0)) seen.set(tid, t);
    worker.threads = splitThreads(pid, seen);
  }, 100);
  child.on('exit', () => clearInterval(sample));
  if (logFile !== undefined) child.stderr!.pipe(createWriteStream(logFile));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    worker.tail.push(line);
    if (worker.tail.length > 10) worker.tail.shift();
    try {
      const parsed = JSON.parse(line) as { msg?: string; eventsIn?: number; cpuSeconds?: number; eventsOut?: Record<string, number>; peakRssMiB?: number; checkpoints?: number };
      if (typeof parsed.eventsIn === 'number' && parsed.eventsIn > worker.eventsIn && worker.threads !== undefined) worker.cpuAtLastEvents = threadTotal(worker.threads);
      if (typeof parsed.eventsIn === 'number') worker.eventsIn = parsed.eventsIn;
      if (worker.eventsIn > 0 && worker.cpuAtFirstEvents === undefined && worker.threads !== undefined) worker.cpuAtFirstEvents = threadTotal(worker.threads);
      if (parsed.msg === 'stopped' && typeof parsed.cpuSeconds === 'number') {
        worker.stopped = { cpuSeconds: parsed.cpuSeconds, eventsOut: parsed.eventsOut ?? {}, peakRssMiB: parsed.peakRssMiB ?? 0, checkpoints: parsed.checkpoints ?? 0 };
      }
    } catch {
      // not a log line
    }
  });
  return worker;
}
