/**
 * A processor process for the benchmarks: the compiled CLI (dist/processor/cli.js, as the image
 * runs it) in its own Node process, so the
 * bench's own data (the test texts, the loaders) is not in the processor's heap and its CPU is
 * not counted. Figures come from the processor's own `stopped` line (`cpuSeconds`, whole process)
 * and its status lines (`eventsIn`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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
  readonly exited: Promise<number | null>;
}

/**
 * Starts the compiled CLI with `env` (runtime properties as variables); `nodeArgs` e.g. `--cpu-prof`;
 * `logFile`: every log line of the worker is also written there. Call `buildProcessor` first.
 */
export function startWorker(env: Record<string, string>, nodeArgs: readonly string[] = [], logFile?: string): Worker {
  const child = spawn(process.execPath, [...nodeArgs, CLI], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const worker: Worker = { child, tail: [], eventsIn: 0, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  if (logFile !== undefined) child.stderr!.pipe(createWriteStream(logFile));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    worker.tail.push(line);
    if (worker.tail.length > 10) worker.tail.shift();
    try {
      const parsed = JSON.parse(line) as { msg?: string; eventsIn?: number; cpuSeconds?: number; eventsOut?: Record<string, number>; peakRssMiB?: number; checkpoints?: number };
      if (typeof parsed.eventsIn === 'number') worker.eventsIn = parsed.eventsIn;
      if (parsed.msg === 'stopped' && typeof parsed.cpuSeconds === 'number') {
        worker.stopped = { cpuSeconds: parsed.cpuSeconds, eventsOut: parsed.eventsOut ?? {}, peakRssMiB: parsed.peakRssMiB ?? 0, checkpoints: parsed.checkpoints ?? 0 };
      }
    } catch {
      // not a log line
    }
  });
  return worker;
}
