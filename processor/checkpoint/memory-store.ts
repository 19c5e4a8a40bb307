/**
 * A lease store that lives in this process only: used when no `CheckpointTable` is set. The same
 * conditions as the DynamoDB store, so one worker behaves the same; nothing survives a restart.
 */
import { commitRef, type CommitRecord, type HeldLease, type LeaseCheckpoint, type LeaseItem, type LeaseStore, type RunItem } from './types.js';
import { FencedError } from './errors.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** In-process lease store (no durability across restarts). */
export class MemoryLeaseStore implements LeaseStore {
  readonly description = 'memory (positions are not kept across restarts)';
  readonly #leases = new Map<string, Mutable<LeaseItem>>();
  readonly #runs = new Map<string, Mutable<RunItem>>();
  readonly #commits = new Map<string, Mutable<CommitRecord>>();

  async registerRun(runId: string): Promise<void> {
    this.#runs.set(runId, { runId, counter: 1, status: 'active' });
  }

  async heartbeatRun(runId: string): Promise<void> {
    const run = this.#runs.get(runId);
    if (!run || run.status !== 'active') throw new FencedError(`run ${runId} was declared dead`);
    run.counter += 1;
  }

  async listRuns(): Promise<RunItem[]> {
    return [...this.#runs.values()].map((r) => ({ ...r }));
  }

  async fenceRun(runId: string, observedCounter: number): Promise<boolean> {
    const run = this.#runs.get(runId);
    if (!run || run.counter !== observedCounter || run.status !== 'active') return false;
    run.status = 'dead';
    return true;
  }

  async deleteRun(runId: string): Promise<void> {
    this.#runs.delete(runId);
  }

  async listLeases(): Promise<LeaseItem[]> {
    return [...this.#leases.values()].map((l) => ({ ...l }));
  }

  async createLease(partition: string, parents: readonly string[], checkpoint: string): Promise<boolean> {
    if (this.#leases.has(partition)) return false;
    this.#leases.set(partition, { partition, counter: 0, checkpoint, parents: [...parents] });
    return true;
  }

  async takeLease(observed: LeaseItem, runId: string): Promise<{ held: HeldLease; item: LeaseItem } | undefined> {
    const lease = this.#leases.get(observed.partition);
    if (!lease || lease.counter !== observed.counter) return undefined;
    lease.owner = runId;
    lease.counter += 1;
    delete lease.takeRequestedBy;
    return { held: { partition: lease.partition, counter: lease.counter }, item: { ...lease } };
  }

  async claimLease(partition: string, runId: string, initialCheckpoint: string): Promise<{ held: HeldLease; item: LeaseItem }> {
    const lease = this.#leases.get(partition) ?? { partition, counter: 0, checkpoint: initialCheckpoint, parents: [] };
    this.#leases.set(partition, lease);
    lease.owner = runId;
    lease.counter += 1;
    delete lease.takeRequestedBy;
    return { held: { partition, counter: lease.counter }, item: { ...lease } };
  }

  #held(lease: HeldLease, runId: string): Mutable<LeaseItem> {
    const item = this.#leases.get(lease.partition);
    if (!item || item.owner !== runId || item.counter !== lease.counter) throw new FencedError(`the lease of ${lease.partition} was taken by another worker`);
    return item;
  }

  async renewLease(lease: HeldLease, runId: string): Promise<{ takeRequestedBy?: string }> {
    const item = this.#held(lease, runId);
    item.counter += 1;
    lease.counter = item.counter;
    return item.takeRequestedBy ? { takeRequestedBy: item.takeRequestedBy } : {};
  }

  async releaseLease(lease: HeldLease, runId: string): Promise<void> {
    const item = this.#held(lease, runId);
    delete item.owner;
    delete item.takeRequestedBy;
    item.counter += 1;
    lease.counter = item.counter;
  }

  async requestTake(partition: string, owner: string, requester: string): Promise<boolean> {
    const item = this.#leases.get(partition);
    if (!item || item.owner !== owner || item.takeRequestedBy) return false;
    item.takeRequestedBy = requester;
    return true;
  }

  async persist(
    runId: string,
    checkpointId: number,
    leases: readonly LeaseCheckpoint[],
    pending: Readonly<Record<string, unknown>> | undefined,
  ): Promise<string | undefined> {
    if (this.#runs.get(runId)?.status !== 'active') throw new FencedError(`checkpoint ${checkpointId}: run ${runId} was declared dead`);
    const items = leases.map(({ lease }) => this.#held(lease, runId));
    const ref = pending ? commitRef(runId, checkpointId) : undefined;
    if (ref && pending) this.#commits.set(ref, { ref, runId, checkpointId, pending, committed: false });
    items.forEach((item, i) => {
      item.checkpoint = leases[i]!.position;
      if (ref) item.pendingRef = ref;
      else delete item.pendingRef;
    });
    return ref;
  }

  async loadCommit(ref: string): Promise<CommitRecord | undefined> {
    const record = this.#commits.get(ref);
    return record ? { ...record } : undefined;
  }

  async listCommits(runId: string): Promise<CommitRecord[]> {
    return [...this.#commits.values()].filter((c) => c.runId === runId).map((c) => ({ ...c }));
  }

  async markCommitted(ref: string): Promise<void> {
    const record = this.#commits.get(ref);
    if (record) record.committed = true;
  }

  async close(): Promise<void> {}
}
