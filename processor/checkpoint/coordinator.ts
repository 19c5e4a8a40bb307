/**
 * The checkpoint protocol (DESIGN.md, "Exactly-once") as an explicit state machine:
 *
 *   idle -> pre-committing -> persisting -> committing -> idle
 *   any -> failed (terminal)        idle -> closed (terminal)
 *
 * 1. barrier: the caller passes the positions up to which records were handed to the sinks;
 * 2. pre-commit: every participant makes its output durable but invisible, returning what its
 *    commit needs;
 * 3. persist: positions and pending commits are written to the store, fenced by the lease;
 * 4. commit: every participant makes the output visible (idempotently).
 * `recover` takes the lease and re-runs the commits of the last persisted checkpoint, then returns
 * its positions: the place to resume reading.
 *
 * Uploads are registered in the store before their first byte is sent (`registerUpload`) and
 * forgotten once committed. At recovery, a registered upload that the last checkpoint does not
 * hold was pre-committed by a checkpoint that never persisted: it is aborted (best effort; the
 * bucket's lifecycle rule removes what an abort misses) and forgotten.
 */
import type { Logger } from '../../common/log.js';
import type { CheckpointData, CheckpointStore, Lease } from './types.js';
import { CheckpointError, IllegalCheckpointStateError } from './errors.js';

/** The states of the protocol. */
export const CHECKPOINT_STATES = ['new', 'idle', 'pre-committing', 'persisting', 'committing', 'failed', 'closed'] as const;
/** A protocol state. */
export type CheckpointState = (typeof CHECKPOINT_STATES)[number];

const TRANSITIONS: Readonly<Record<CheckpointState, readonly CheckpointState[]>> = {
  new: ['idle', 'failed', 'closed'],
  idle: ['pre-committing', 'closed', 'failed'],
  'pre-committing': ['persisting', 'failed'],
  persisting: ['committing', 'failed'],
  committing: ['idle', 'failed'],
  failed: [],
  closed: [],
};

/** Anything that takes part in a checkpoint: every sink, and the dead-letter output. */
export interface CheckpointParticipant {
  readonly name: string;
  preCommit(checkpointId: number): Promise<unknown>;
  commit(pending: unknown, checkpointId: number, recovering?: boolean): Promise<void>;
  /** The upload-registry entries a pending commit of this participant holds. */
  uploadsOf?(pending: unknown): readonly string[];
  /** Aborts a registered upload that no checkpoint holds; false when the abort did not succeed. */
  abortUpload?(entry: string): Promise<boolean>;
}

/** What a recovery did with the registered uploads. */
export interface RecoveryReport {
  readonly checkpointId: number | undefined;
  /** Uploads of the last checkpoint, completed again. */
  readonly recommitted: number;
  /** Registered uploads no checkpoint held, aborted. */
  readonly orphansAborted: readonly string[];
  /** Registered uploads no checkpoint held, whose abort failed (left to the lifecycle rule). */
  readonly orphansNotAborted: readonly string[];
}

/** The outcome of one checkpoint. */
export interface CheckpointResult {
  readonly checkpointId: number;
  readonly durationMs: number;
  readonly phases: { readonly preCommitMs: number; readonly persistMs: number; readonly commitMs: number };
}

/** Runs checkpoints for one worker. */
export class CheckpointCoordinator {
  readonly #store: CheckpointStore;
  readonly #participants: readonly CheckpointParticipant[];
  readonly #log: Logger;
  readonly #owner: string;
  #state: CheckpointState = 'new';
  #lease: Lease | undefined;
  #lastId = 0;
  #recovery: RecoveryReport | undefined;
  /** Hook for fault-injection tests: called between phases with the phase just finished. */
  readonly #afterPhase: ((phase: 'pre-commit' | 'persist' | 'commit', checkpointId: number) => Promise<void> | void) | undefined;

  constructor(options: {
    store: CheckpointStore;
    participants: readonly CheckpointParticipant[];
    log: Logger;
    owner: string;
    afterPhase?: (phase: 'pre-commit' | 'persist' | 'commit', checkpointId: number) => Promise<void> | void;
  }) {
    this.#store = options.store;
    this.#participants = options.participants;
    this.#log = options.log;
    this.#owner = options.owner;
    this.#afterPhase = options.afterPhase;
  }

  /** The current state. */
  get state(): CheckpointState {
    return this.#state;
  }

  /** What the recovery did, once `recover` has run. */
  get recovery(): RecoveryReport | undefined {
    return this.#recovery;
  }

  #to(next: CheckpointState): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new IllegalCheckpointStateError(`checkpoint state ${this.#state} cannot go to ${next}`);
    }
    this.#state = next;
  }

  /** Takes the lease, re-commits the last checkpoint, and returns the positions to resume from. */
  async recover(): Promise<Readonly<Record<string, string>>> {
    if (this.#state !== 'new') throw new IllegalCheckpointStateError(`recover() in state ${this.#state}`);
    try {
      const { lease, last, registeredUploads } = await this.#store.acquire(this.#owner);
      this.#lease = lease;
      const kept = new Set(last ? this.#uploadsOf(last.pending) : []);
      if (last) {
        this.#lastId = last.checkpointId;
        this.#log.info('recovering from checkpoint', { checkpointId: last.checkpointId, shards: Object.keys(last.positions).length, store: this.#store.description });
        for (const participant of this.#participants) {
          if (participant.name in last.pending) await participant.commit(last.pending[participant.name], last.checkpointId, true);
        }
      } else {
        this.#log.info('no checkpoint to recover; starting fresh', { store: this.#store.description, lease: lease.counter });
      }
      const orphansAborted: string[] = [];
      const orphansNotAborted: string[] = [];
      for (const entry of registeredUploads) {
        if (kept.has(entry)) continue;
        const aborter = this.#participants.find((p) => p.abortUpload);
        ((aborter && (await aborter.abortUpload!(entry))) ? orphansAborted : orphansNotAborted).push(entry);
      }
      if (orphansAborted.length + orphansNotAborted.length > 0) {
        this.#log.warn('uploads of a checkpoint that never persisted', {
          aborted: orphansAborted.length,
          notAborted: orphansNotAborted.length,
          note: orphansNotAborted.length > 0 ? 'uploads that could not be aborted stay invisible; the bucket lifecycle rule removes them' : undefined,
        });
      }
      await this.#store.forgetUploads(lease, registeredUploads);
      this.#recovery = { checkpointId: last?.checkpointId, recommitted: kept.size, orphansAborted, orphansNotAborted };
      this.#to('idle');
      return last?.positions ?? {};
    } catch (error) {
      this.#state = 'failed';
      throw new CheckpointError('could not recover from the last checkpoint', { cause: error });
    }
  }

  /** Takes a checkpoint of `positions` (the barrier: everything before them is in the sinks). */
  async checkpoint(positions: Readonly<Record<string, string>>): Promise<CheckpointResult> {
    if (!this.#lease) throw new IllegalCheckpointStateError('checkpoint() before recover()');
    const checkpointId = this.#lastId + 1;
    const started = performance.now();
    try {
      this.#to('pre-committing');
      const pending: Record<string, unknown> = {};
      for (const participant of this.#participants) pending[participant.name] = await participant.preCommit(checkpointId);
      const preCommitted = performance.now();
      await this.#afterPhase?.('pre-commit', checkpointId);

      this.#to('persisting');
      const data: CheckpointData = { checkpointId, positions: { ...positions }, pending, createdAtMs: Date.now() };
      await this.#store.persist(this.#lease, data);
      this.#lastId = checkpointId;
      const persisted = performance.now();
      await this.#afterPhase?.('persist', checkpointId);

      this.#to('committing');
      for (const participant of this.#participants) await participant.commit(pending[participant.name], checkpointId);
      await this.#store.forgetUploads(this.#lease, this.#uploadsOf(pending));
      const committed = performance.now();
      await this.#afterPhase?.('commit', checkpointId);
      this.#to('idle');
      return {
        checkpointId,
        durationMs: committed - started,
        phases: { preCommitMs: preCommitted - started, persistMs: persisted - preCommitted, commitMs: committed - persisted },
      };
    } catch (error) {
      const phase = this.#state;
      this.#state = 'failed';
      throw new CheckpointError(`checkpoint ${checkpointId} failed while ${phase}`, { cause: error });
    }
  }

  /** Records an upload before its first byte is sent (see the class comment). */
  async registerUpload(entry: string): Promise<void> {
    if (!this.#lease) throw new IllegalCheckpointStateError('registerUpload() before recover()');
    await this.#store.registerUploads(this.#lease, [entry]);
  }

  #uploadsOf(pending: Readonly<Record<string, unknown>>): string[] {
    const entries: string[] = [];
    for (const participant of this.#participants) {
      if (participant.uploadsOf && participant.name in pending) entries.push(...participant.uploadsOf(pending[participant.name]));
    }
    return entries;
  }

  /** Ends the protocol (after the final checkpoint). */
  close(): void {
    if (this.#state === 'idle' || this.#state === 'new') this.#to('closed');
  }
}
