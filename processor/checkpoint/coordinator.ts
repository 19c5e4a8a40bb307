/**
 * The checkpoint protocol (DESIGN.md, "Exactly-once") as an explicit state machine:
 *
 *   idle -> pre-committing -> persisting -> committing -> idle
 *   any -> failed (terminal)        idle -> closed (terminal)
 *
 * 1. barrier: the caller passes the positions up to which records were handed to the sinks;
 * 2. pre-commit: every sink makes its output durable but invisible, returning its typed `P`;
 * 3. persist: one conditional write of every held lease's position and a commit record holding
 *    every `P`, on condition that this run is active and still holds each lease at its counter;
 * 4. commit: every sink makes the output visible (idempotently); the record is marked committed.
 *
 * Recovery is per lease: when a lease is taken, the commit record its last checkpoint names is
 * committed (again) before the lease is read. When a run is found dead, its persisted records are
 * committed and each sink aborts what the run left that no record holds. No sink-specific names here.
 */
import type { Logger } from '../../common/log.js';
import type { Sink } from '../lifecycle.js';
import type { LeaseTable } from './lease-table.js';
import type { CommitRecord, LeaseCheckpoint, LeaseItem } from './types.js';
import { MAX_LEASES_PER_CHECKPOINT } from './types.js';
import { CheckpointError, IllegalCheckpointStateError } from './errors.js';

/** The states of the protocol. */
export const CHECKPOINT_STATES = ['idle', 'pre-committing', 'persisting', 'committing', 'failed', 'closed'] as const;
/** A protocol state. */
export type CheckpointState = (typeof CHECKPOINT_STATES)[number];

const TRANSITIONS: Readonly<Record<CheckpointState, readonly CheckpointState[]>> = {
  idle: ['pre-committing', 'closed', 'failed'],
  'pre-committing': ['persisting', 'failed'],
  persisting: ['committing', 'failed'],
  committing: ['idle', 'failed'],
  failed: [],
  closed: [],
};

/** The checkpoint phases a fault-injection hook can follow. */
export type CheckpointPhase = 'pre-commit' | 'persist' | 'commit';

/** The outcome of one checkpoint. */
export interface CheckpointResult {
  readonly checkpointId: number;
  readonly durationMs: number;
  /** Leases it covered. */
  readonly leases: number;
  readonly phases: { readonly preCommitMs: number; readonly persistMs: number; readonly commitMs: number };
}

/** What recoveries did so far. */
export interface RecoveryReport {
  /** Commit records of other runs (or earlier incarnations) committed again. */
  readonly recommitted: number;
  /** Dead runs cleaned up. */
  readonly deadRuns: number;
  /** Leftovers (e.g. open uploads) of dead runs aborted. */
  readonly leftoversAborted: number;
}

/** Runs checkpoints for one run. */
export class CheckpointCoordinator {
  readonly #leases: LeaseTable;
  readonly #sinks: readonly Sink[];
  readonly #log: Logger;
  readonly #afterPhase: ((phase: CheckpointPhase, checkpointId: number) => Promise<void> | void) | undefined;
  #state: CheckpointState = 'idle';
  #lastId = 0;
  #recovery = { recommitted: 0, deadRuns: 0, leftoversAborted: 0 };
  readonly #visible: Record<string, number> = {};
  /** Commit records already committed by this run (a record covers many leases). */
  readonly #done = new Set<string>();

  constructor(options: {
    leases: LeaseTable;
    sinks: readonly Sink[];
    log: Logger;
    afterPhase?: (phase: CheckpointPhase, checkpointId: number) => Promise<void> | void;
  }) {
    this.#leases = options.leases;
    this.#sinks = options.sinks;
    this.#log = options.log;
    this.#afterPhase = options.afterPhase;
  }

  /** The current state. */
  get state(): CheckpointState {
    return this.#state;
  }

  /** What recoveries did so far. */
  get recovery(): RecoveryReport {
    return { ...this.#recovery };
  }

  #to(next: CheckpointState): void {
    if (!TRANSITIONS[this.#state].includes(next)) throw new IllegalCheckpointStateError(`checkpoint state ${this.#state} cannot go to ${next}`);
    this.#state = next;
  }

  /** Events made visible by this run's commits, per sink (an output committed twice counts once). */
  get eventsOut(): Readonly<Record<string, number>> {
    return { ...this.#visible };
  }

  /** Commits a persisted record (idempotently) and marks it. */
  async #commitRecord(record: CommitRecord, recovering: boolean): Promise<void> {
    for (const sink of this.#sinks) {
      if (!(sink.name in record.pending)) continue;
      const visible = await sink.commit(record.pending[sink.name], record.checkpointId, recovering);
      this.#visible[sink.name] = (this.#visible[sink.name] ?? 0) + visible;
    }
    await this.#leases.store.markCommitted(record.ref);
    this.#done.add(record.ref);
  }

  /**
   * Before newly taken leases are read: commits the records their last checkpoints name (the
   * previous holder may have died between persist and commit). Returns their positions.
   */
  async recoverLeases(items: readonly LeaseItem[]): Promise<Map<string, string>> {
    const refs = new Set(items.map((i) => i.pendingRef).filter((r): r is string => r !== undefined && !this.#done.has(r)));
    for (const ref of refs) {
      const record = await this.#leases.store.loadCommit(ref);
      if (!record) throw new CheckpointError(`commit record ${ref} named by a lease is missing from ${this.#leases.store.description}`);
      if (record.committed) {
        this.#done.add(ref);
        continue;
      }
      this.#log.info('committing the last checkpoint of a lease taken over', { ref, checkpointId: record.checkpointId, run: record.runId });
      await this.#commitRecord(record, true);
      this.#recovery.recommitted += 1;
    }
    return new Map(items.map((i) => [i.partition, i.checkpoint]));
  }

  /** After a run was declared dead: commits its persisted records, then aborts what no record holds. */
  async cleanUpRun(runId: string): Promise<void> {
    const records = await this.#leases.store.listCommits(runId);
    for (const record of records) if (!record.committed) await this.#commitRecord(record, true);
    let aborted = 0;
    for (const sink of this.#sinks) {
      const kept = records.filter((r) => sink.name in r.pending).map((r) => r.pending[sink.name]);
      aborted += await sink.abortLeftovers(runId, kept);
    }
    this.#recovery.deadRuns += 1;
    this.#recovery.leftoversAborted += aborted;
    this.#log.info('cleaned up a dead run', { run: runId, recommitted: records.filter((r) => !r.committed).length, aborted });
  }

  /**
   * Takes a checkpoint of `positions` (the barrier: everything before them is in the sinks), for
   * the partitions whose leases this run holds.
   */
  async checkpoint(positions: ReadonlyMap<string, string>): Promise<CheckpointResult> {
    if (this.#state !== 'idle') throw new IllegalCheckpointStateError(`checkpoint() in state ${this.#state}`);
    const checkpointId = this.#lastId + 1;
    const started = performance.now();
    try {
      this.#to('pre-committing');
      const pending: Record<string, unknown> = {};
      let any = false;
      for (const sink of this.#sinks) {
        const p = await sink.preCommit(checkpointId);
        if (p !== undefined) {
          pending[sink.name] = p;
          any = true;
        }
      }
      const preCommitted = performance.now();
      await this.#afterPhase?.('pre-commit', checkpointId);

      this.#to('persisting');
      const ref = await this.#leases.exclusive(async () => {
        const leases: LeaseCheckpoint[] = [];
        for (const [partition, position] of positions) {
          const lease = this.#leases.held(partition);
          if (!lease) throw new IllegalCheckpointStateError(`checkpoint ${checkpointId} has a position for ${partition}, whose lease this run does not hold`);
          leases.push({ lease, position });
        }
        if (leases.length > MAX_LEASES_PER_CHECKPOINT) {
          throw new CheckpointError(`checkpoint ${checkpointId} covers ${leases.length} leases; one checkpoint holds at most ${MAX_LEASES_PER_CHECKPOINT} (set MaxLeasesPerWorker lower, or run more tasks)`);
        }
        if (leases.length === 0 && !any) return undefined;
        return this.#leases.store.persist(this.#leases.runId, checkpointId, leases, any ? pending : undefined);
      });
      this.#lastId = checkpointId;
      const persisted = performance.now();
      await this.#afterPhase?.('persist', checkpointId);

      this.#to('committing');
      if (ref) await this.#commitRecord({ ref, runId: this.#leases.runId, checkpointId, pending, committed: false }, false);
      const committed = performance.now();
      await this.#afterPhase?.('commit', checkpointId);
      this.#to('idle');
      return {
        checkpointId,
        leases: positions.size,
        durationMs: committed - started,
        phases: { preCommitMs: preCommitted - started, persistMs: persisted - preCommitted, commitMs: committed - persisted },
      };
    } catch (error) {
      const phase = this.#state;
      this.#state = 'failed';
      throw new CheckpointError(`checkpoint ${checkpointId} failed while ${phase}`, { cause: error });
    }
  }

  /** Ends the protocol (after the final checkpoint). */
  close(): void {
    if (this.#state === 'idle') this.#to('closed');
  }
}
