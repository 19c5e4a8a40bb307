/**
 * The running readers of a source's partitions (Kinesis shards, input files): at most one per
 * partition, each with an abort controller and a promise that settles once it has stopped. A
 * source stops them all on `stop()`, and the ones of revoked partitions before it hands them over.
 */

/** One partition's reader. */
export interface PartitionReader {
  readonly abort: AbortController;
  /** Settles once the reader has stopped (after an abort, or at the end of its partition). */
  done: Promise<void>;
}

/** The readers of the partitions a source reads now, by partition. */
export class PartitionReaders<R extends PartitionReader> {
  readonly #readers = new Map<string, R>();

  /** How many partitions are being read. */
  get size(): number {
    return this.#readers.size;
  }

  entries(): IterableIterator<[string, R]> {
    return this.#readers.entries();
  }

  add(partition: string, reader: R): void {
    this.#readers.set(partition, reader);
  }

  remove(partition: string): void {
    this.#readers.delete(partition);
  }

  /** Aborts the readers of `partitions` (every reader when omitted) and waits until each has stopped. */
  async stop(partitions?: readonly string[]): Promise<void> {
    const stopping = partitions === undefined ? [...this.#readers.values()] : partitions.map((p) => this.#readers.get(p)).filter((r): r is R => r !== undefined);
    for (const reader of stopping) reader.abort.abort();
    await Promise.all(stopping.map((r) => r.done));
  }
}
