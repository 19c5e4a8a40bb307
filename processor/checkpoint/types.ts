/** A persisted checkpoint: the source positions and every sink's pending commit, taken together. */
export interface CheckpointData {
  /** Monotonic per application, from 1. */
  readonly checkpointId: number;
  /** Per shard/partition: the last position handed to the sinks (`SHARD_END` for a finished shard). */
  readonly positions: Readonly<Record<string, string>>;
  /** Per sink name: what its `commit` needs. */
  readonly pending: Readonly<Record<string, unknown>>;
  /** When the barrier was taken (epoch ms). */
  readonly createdAtMs: number;
}

/** Ownership of an application's checkpoint: who holds it and the counter that fences older holders. */
export interface Lease {
  readonly owner: string;
  readonly counter: number;
}

/** Durable storage of checkpoints, with fencing: a persist by a worker that lost ownership fails. */
export interface CheckpointStore {
  /** A short description for logs (`dynamodb:table/key`, `memory`). */
  readonly description: string;
  /**
   * Takes ownership (bumping the lease counter) and returns the last checkpoint, if any, and the
   * uploads registered and not yet forgotten (see `registerUploads`).
   */
  acquire(owner: string): Promise<{ lease: Lease; last?: CheckpointData; registeredUploads: readonly string[] }>;
  /** Persists a checkpoint; throws `FencedError` if the lease was taken over, or if the id does not advance. */
  persist(lease: Lease, data: CheckpointData): Promise<void>;
  /**
   * Records pending uploads (opaque entries) before their first byte is sent, so that a recovery
   * can abort those no checkpoint kept without listing the bucket. Fenced like `persist`.
   */
  registerUploads(lease: Lease, entries: readonly string[]): Promise<void>;
  /** Drops entries once their uploads are completed or aborted. Fenced like `persist`. */
  forgetUploads(lease: Lease, entries: readonly string[]): Promise<void>;
  /** Releases resources. */
  close(): Promise<void>;
}

/** The position marking a shard read to its end. */
export const SHARD_END = 'SHARD_END';
