/**
 * Ownership and checkpoints, in the shape of the KCL's lease table (DESIGN.md, "Scale-out and
 * ownership"). One table holds, per application:
 * - a **lease** per shard (or Kafka partition): owner, lease counter, checkpoint (position), parent
 *   shards, and a reference to the commit record of the checkpoint that last wrote it;
 * - a **run** per processor incarnation: its heartbeat counter and status (`active`, `dead` once
 *   another worker fenced it); a checkpoint is persisted only while its run is active;
 * - a **commit record** per persisted checkpoint: every sink's pending commit, and whether it has
 *   been committed. Any worker may finish (commit) a persisted record: committing is idempotent.
 */

/** The position marking a shard read to its end. */
export const SHARD_END = 'SHARD_END';

/** A lease as stored. */
export interface LeaseItem {
  /** The shard id or `topic/partition`. */
  readonly partition: string;
  /** The run holding it; absent when free. */
  readonly owner?: string;
  /** Bumped by every take, renewal and release: a holder's writes are conditional on it. */
  readonly counter: number;
  /** The last persisted position (a sequence number, a start sentinel, SHARD_END). */
  readonly checkpoint: string;
  /** Shards this one was split or merged from. */
  readonly parents: readonly string[];
  /** The commit record of the checkpoint that last wrote this lease (absent: nothing pending). */
  readonly pendingRef?: string;
  /** A worker asking the owner to hand the lease over (balancing). */
  readonly takeRequestedBy?: string;
}

/** A lease this run holds: the counter moves with every renewal. */
export interface HeldLease {
  readonly partition: string;
  counter: number;
}

/** A processor incarnation. */
export interface RunItem {
  readonly runId: string;
  readonly counter: number;
  readonly status: 'active' | 'dead';
}

/** A persisted checkpoint's pending commits. */
export interface CommitRecord {
  readonly ref: string;
  readonly runId: string;
  readonly checkpointId: number;
  /** Per sink name: what its `commit` needs. */
  readonly pending: Readonly<Record<string, unknown>>;
  readonly committed: boolean;
}

/** One lease's part of a checkpoint. */
export interface LeaseCheckpoint {
  readonly lease: HeldLease;
  readonly position: string;
}

/** Durable storage of leases, runs and commit records, with conditional writes as the only coordination. */
export interface LeaseStore {
  /** A short description for logs (`dynamodb:table/app`, `memory`). */
  readonly description: string;

  /** Records a new run (status active). */
  registerRun(runId: string): Promise<void>;
  /** Bumps the run's heartbeat; throws `FencedError` when another worker declared it dead. */
  heartbeatRun(runId: string): Promise<void>;
  /** Every run of the application. */
  listRuns(): Promise<RunItem[]>;
  /** Declares an active run dead if its counter is still `observedCounter`; false if it moved on or another run was first. */
  fenceRun(runId: string, observedCounter: number): Promise<boolean>;
  /** Removes a run (stopped cleanly, or dead and cleaned up). */
  deleteRun(runId: string): Promise<void>;

  /** Every lease of the application (consistent read). */
  listLeases(): Promise<LeaseItem[]>;
  /** Creates a free lease if none exists; false if one did. */
  createLease(partition: string, parents: readonly string[], checkpoint: string): Promise<boolean>;
  /** Takes a lease whose counter is still the observed one; undefined if another worker was first. */
  takeLease(observed: LeaseItem, runId: string): Promise<{ held: HeldLease; item: LeaseItem } | undefined>;
  /** Takes a lease whatever its state, creating it if missing (Kafka: the group coordinator decided). */
  claimLease(partition: string, runId: string, initialCheckpoint: string): Promise<{ held: HeldLease; item: LeaseItem }>;
  /** Renews a held lease (bumps the counter); throws `FencedError` if it was taken. */
  renewLease(lease: HeldLease, runId: string): Promise<{ takeRequestedBy?: string }>;
  /** Frees a held lease; throws `FencedError` if it was taken. */
  releaseLease(lease: HeldLease, runId: string): Promise<void>;
  /** Asks the owner (still `owner`) to hand a lease over; false if the lease changed hands. */
  requestTake(partition: string, owner: string, requester: string): Promise<boolean>;

  /**
   * Persists a checkpoint in one conditional write: every lease's position and the commit record,
   * on condition that the run is active and holds each lease at its counter. `FencedError` when not.
   */
  persist(runId: string, checkpointId: number, leases: readonly LeaseCheckpoint[], pending: Readonly<Record<string, unknown>> | undefined): Promise<string | undefined>;
  /** A commit record by reference. */
  loadCommit(ref: string): Promise<CommitRecord | undefined>;
  /** Every commit record of a run. */
  listCommits(runId: string): Promise<CommitRecord[]>;
  /** Marks a record committed (it then expires after a while). */
  markCommitted(ref: string): Promise<void>;

  /** Releases resources. */
  close(): Promise<void>;
}

/** The sort key of a run's commit record (zero-padded, so a run's records list in checkpoint order). */
export function commitRef(runId: string, checkpointId: number): string {
  return `commit/${runId}/${String(checkpointId).padStart(10, '0')}`;
}

/** Most leases one checkpoint covers: a DynamoDB transaction holds 100 items (leases, commit record, run check). */
export const MAX_LEASES_PER_CHECKPOINT = 98;
