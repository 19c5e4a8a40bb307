/**
 * A checkpoint store that lives in this process only: used when no `CheckpointTable` is set.
 * Output is still committed at each checkpoint; positions are simply not kept across restarts.
 */
import type { CheckpointData, CheckpointStore, Lease } from './types.js';
import { FencedError } from './errors.js';

/** In-process checkpoint store (no durability across restarts). */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly description = 'memory (positions are not kept across restarts)';
  #lease: Lease | undefined;
  #last: CheckpointData | undefined;
  readonly #uploads = new Set<string>();

  async acquire(owner: string): Promise<{ lease: Lease; last?: CheckpointData; registeredUploads: readonly string[] }> {
    this.#lease = { owner, counter: (this.#lease?.counter ?? 0) + 1 };
    return { lease: this.#lease, ...(this.#last ? { last: this.#last } : {}), registeredUploads: [...this.#uploads] };
  }

  #checkLease(lease: Lease): void {
    if (!this.#lease || this.#lease.counter !== lease.counter || this.#lease.owner !== lease.owner) {
      throw new FencedError(`lease ${lease.owner}/${lease.counter} is no longer held`);
    }
  }

  async registerUploads(lease: Lease, entries: readonly string[]): Promise<void> {
    this.#checkLease(lease);
    for (const entry of entries) this.#uploads.add(entry);
  }

  async forgetUploads(lease: Lease, entries: readonly string[]): Promise<void> {
    this.#checkLease(lease);
    for (const entry of entries) this.#uploads.delete(entry);
  }

  async persist(lease: Lease, data: CheckpointData): Promise<void> {
    this.#checkLease(lease);
    if (this.#last && data.checkpointId <= this.#last.checkpointId) {
      throw new FencedError(`checkpoint ${data.checkpointId} does not advance past ${this.#last.checkpointId}`);
    }
    this.#last = data;
  }

  async close(): Promise<void> {}
}
