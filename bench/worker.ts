/**
 * A processor process for the benchmarks: `processor/cli.ts` in its own Node process, so the
 * bench's own data (the test texts, the loaders) is not in the processor's heap and its CPU is
 * not counted. Figures come from the processor's own `stopped` line (`cpuSeconds`, whole process)
 * and its status lines (`eventsIn`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../processor/cli.ts', import.meta.url));

/** One processor process. */
export interface Worker {
  readonly child: ChildProcess;
  readonly tail: string[];
  eventsIn: number;
  stopped?: { cpuSeconds: number; eventsOut: Record<string, number>; peakRssMiB: number; checkpoints: number };
  readonly exited: Promise<number | null>;
}

/** Starts `processor/cli.ts` with `env` (runtime properties as variables); `nodeArgs` e.g. `--cpu-prof`. */
export function startWorker(env: Record<string, string>, nodeArgs: readonly string[] = []): Worker {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CLI], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const worker: Worker = { child, tail: [], eventsIn: 0, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
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
