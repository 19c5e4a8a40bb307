/**
 * The leases this run holds, shared by whoever takes them (the Kinesis lease manager, the Kafka
 * group listener) and the checkpoint coordinator that persists under them. Renewals change a held
 * lease's counter; a persist is conditioned on it, so the two never run at once (`exclusive`).
 */
import type { HeldLease, LeaseStore } from './types.js';

/** This run's held leases and the lock between renewals and persists. */
export class LeaseTable {
  readonly store: LeaseStore;
  readonly runId: string;
  readonly #held = new Map<string, HeldLease>();
  #lock: Promise<unknown> = Promise.resolve();

  constructor(store: LeaseStore, runId: string) {
    this.store = store;
    this.runId = runId;
  }

  /** The held lease of a partition. */
  held(partition: string): HeldLease | undefined {
    return this.#held.get(partition);
  }

  /** Every held lease. */
  all(): HeldLease[] {
    return [...this.#held.values()];
  }

  /** Records a lease as held. */
  add(lease: HeldLease): void {
    this.#held.set(lease.partition, lease);
  }

  /** Forgets a lease (released, finished or lost). */
  remove(partition: string): void {
    this.#held.delete(partition);
  }

  /** Runs `fn` with no other exclusive section running (renewals, persists, releases). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }
}
