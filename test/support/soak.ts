/**
 * The kill -9 soak shared by the scale-out test (20 kills) and `npm run soak` (100 by default):
 * `workers` processor CLI processes on one stream while generated events keep arriving; the
 * processes are SIGKILLed at random, and every other replacement is started with the CLI's test
 * hook (`ETL_FAULT_KILL_AFTER_PHASE`) so it kills itself right after a checkpoint phase (cycling
 * pre-commit, persist, commit). A process that exits is replaced at once, as an orchestrator does.
 * When the kills are done the input stops, the workers catch up and stop cleanly, and the output
 * is checked id by id.
 */
import type { LocalServices } from '../../local/services.js';
import { startCliProcessor, type CliProcessor } from './cli-processor.js';
import { createPipelineResources, uniqueName, waitUntil } from './local.js';
import { caughtUp, checkOutput, openUploads, Producer, readLeases, readRuns, testClients, uncommittedRecords, workerEnv, type OutputCheck } from './scale-out.js';

/** Phases a kill can follow. */
export const KILL_PHASES = ['pre-commit', 'persist', 'commit'] as const;

/** Soak settings. */
export interface SoakOptions {
  readonly services: LocalServices;
  readonly kills: number;
  readonly workers?: number;
  readonly shards?: number;
  /** Events put per 100 ms. @default 30 */
  readonly eventsPerTick?: number;
  /** Progress lines. */
  readonly progress?: (line: string) => void;
  /** Overall deadline for catching up after the kills (ms). @default 180000 */
  readonly drainTimeoutMs?: number;
  /** A seed for the kill schedule. @default 1 */
  readonly seed?: number;
  /** Send the events as KPL aggregates of this many user records. @default 0 (plain records) */
  readonly aggregate?: number;
  /** More processor properties for every worker (e.g. an extra sink). */
  readonly env?: Readonly<Record<string, string>>;
}

/** What the soak found. */
export interface SoakSummary {
  readonly kills: number;
  readonly externalKills: number;
  readonly phaseKills: Readonly<Record<(typeof KILL_PHASES)[number], number>>;
  /** Processes that exited on their own (fatal error, e.g. a lease lost), then replaced. */
  readonly selfExits: number;
  readonly selfExitReasons: readonly string[];
  readonly events: number;
  readonly rows: number;
  readonly duplicates: number;
  readonly missing: number;
  readonly unexpected: number;
  readonly misplaced: number;
  readonly openUploads: number;
  readonly uncommittedRecords: number;
  readonly files: number;
  readonly durationMs: number;
  readonly output: OutputCheck;
}

/** A small deterministic PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


interface Slot {
  worker: CliProcessor;
  /** The phase its hook is armed for, if any. */
  hook: (typeof KILL_PHASES)[number] | undefined;
  externallyKilled: boolean;
}

/** Runs the soak; resolves with its summary (the caller asserts on it). */
export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const started = Date.now();
  const progress = options.progress ?? (() => undefined);
  const rand = random(options.seed ?? 1);
  const clients = testClients();
  const resources = { ...(await createPipelineResources(options.services, options.shards ?? 8)), application: uniqueName('soak') };
  const baseEnv = workerEnv(options.services.env, resources, options.env);
  const all: CliProcessor[] = [];
  const producer = new Producer(clients.kinesis, resources.stream, { aggregate: options.aggregate ?? 0 });
  let kills = 0;
  let externalKills = 0;
  const phaseKills = { 'pre-commit': 0, persist: 0, commit: 0 };
  let selfExits = 0;
  const selfExitReasons: string[] = [];
  let nextPhase = 0;
  let restarts = 0;
  let killing = true;

  const launch = (armed: boolean): Slot => {
    let hook: (typeof KILL_PHASES)[number] | undefined;
    const env = { ...baseEnv };
    if (armed) {
      hook = KILL_PHASES[nextPhase % KILL_PHASES.length]!;
      nextPhase += 1;
      env.ETL_FAULT_KILL_AFTER_PHASE = `${hook}:${3 + Math.floor(rand() * 4)}`;
    }
    const worker = startCliProcessor(env);
    all.push(worker);
    return { worker, hook, externallyKilled: false };
  };

  const slots: Slot[] = Array.from({ length: options.workers ?? 3 }, () => launch(false));
  // Replaces exited workers; counts how each ended.
  const supervise = async (): Promise<void> => {
    for (let i = 0; i < slots.length; i += 1) {
      const slot = slots[i]!;
      if (!slot.worker.hasExited()) continue;
      const exit = await slot.worker.exited;
      if (slot.externallyKilled) {
        // counted when sent
      } else if (exit.signal === 'SIGKILL' && slot.hook) {
        kills += 1;
        phaseKills[slot.hook] += 1;
        progress(`kill ${kills}: ${slot.worker.runId() ?? '?'} killed itself after a ${slot.hook} phase (${slot.worker.child.pid})`);
      } else {
        selfExits += 1;
        const reason = exit.lines.find((l) => l.msg === 'pipeline failed')?.error ?? `exit ${exit.code} ${exit.signal ?? ''}`;
        selfExitReasons.push(String(reason).slice(0, 300));
        progress(`worker ${slot.worker.runId() ?? '?'} exited on its own: ${String(reason).slice(0, 200)}`);
      }
      restarts += 1;
      // While killing, every other replacement arms the phase hook.
      slots[i] = launch(killing && kills < options.kills && restarts % 2 === 1);
    }
  };

  let next = 0;
  let producing = true;
  const producerLoop = (async () => {
    while (producing) {
      const ids = Array.from({ length: options.eventsPerTick ?? 30 }, (_, i) => next + i);
      next += ids.length;
      await producer.put(ids);
      await sleep(100);
    }
  })();

  try {
    while (kills < options.kills) {
      await sleep(1000 + Math.floor(rand() * 2500));
      await supervise();
      if (kills >= options.kills) break;
      // A victim has started for real: it logged its run id and took at least one checkpoint.
      const candidates = slots.filter((s) => !s.hook && !s.worker.hasExited() && s.worker.runId() !== undefined && Number(s.worker.status()?.checkpoints ?? 0) >= 1);
      const victim = candidates[Math.floor(rand() * candidates.length)];
      if (!victim) continue;
      victim.externallyKilled = true;
      victim.worker.kill('SIGKILL');
      kills += 1;
      externalKills += 1;
      progress(`kill ${kills}: SIGKILL to ${victim.worker.runId() ?? '?'} (${victim.worker.child.pid}), ${producer.ids.length} events put so far`);
    }
    killing = false;
    // Armed workers still running: kill them too, so the end state has plain workers only.
    for (const slot of slots) {
      if (slot.hook && !slot.worker.hasExited()) {
        slot.externallyKilled = true;
        slot.worker.kill('SIGKILL');
        kills += 1;
        externalKills += 1;
      }
    }
    await sleep(2000);
    producing = false;
    await producerLoop;
    progress(`kills done (${kills}); input stopped at ${producer.ids.length} events; waiting for the workers to catch up`);
    const drainDeadline = Date.now() + (options.drainTimeoutMs ?? 180_000);
    await waitUntil(
      'every shard checkpointed past its last event, and no dead run left',
      async () => {
        await supervise();
        const leases = await readLeases(clients.dynamo, resources.table, resources.application);
        if (!caughtUp(leases, producer.lastSequence)) return false;
        const live = new Set(slots.map((s) => s.worker.runId()));
        const runs = await readRuns(clients.dynamo, resources.table, resources.application);
        return runs.every((r) => live.has(r));
      },
      Math.max(1000, drainDeadline - Date.now()),
    );
    for (const slot of slots) slot.worker.kill('SIGTERM');
    for (const slot of slots) {
      const exit = await slot.worker.exited;
      if (exit.code !== 0) throw new Error(`soak: a worker stopped with SIGTERM exited ${exit.code} ${exit.signal ?? ''}: ${JSON.stringify(exit.lines.slice(-3))}`);
    }
    progress('workers stopped; reading the output back');
    const output = await checkOutput(clients.s3, resources.bucket, producer.ids);
    const open = await openUploads(clients.s3, resources.bucket);
    const uncommitted = await uncommittedRecords(clients.dynamo, resources.table, resources.application);
    return {
      kills,
      externalKills,
      phaseKills,
      selfExits,
      selfExitReasons,
      events: producer.ids.length,
      rows: output.rows,
      duplicates: output.duplicates.length,
      missing: output.missing.length,
      unexpected: output.unexpected.length,
      misplaced: output.misplaced.length,
      openUploads: open.length,
      uncommittedRecords: uncommitted.length,
      files: output.files,
      durationMs: Date.now() - started,
      output,
    };
  } finally {
    producing = false;
    await producerLoop.catch(() => undefined);
    for (const w of all) w.kill('SIGKILL');
    await Promise.all(all.map((w) => w.exited));
    clients.destroy();
  }
}
