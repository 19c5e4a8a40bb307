/**
 * The bounded reorder buffer for input not sorted by the timestamp attribute. The replay streams
 * its input (files and S3 objects of any size), so it does not sort: it holds up to `window`
 * events in a min-heap by timestamp and releases the earliest when the window is full, and all
 * of them, in order, at the end. Output is sorted when no event is more than `window` events out
 * of place; an event that still comes out earlier than one already released is "late" (the
 * pacer sends it at once and the summary counts it). Ties keep input order. Window 0 passes
 * events through in input order.
 */

interface Slot<T> {
  readonly key: number;
  readonly order: number;
  readonly item: T;
}

/** A min-heap by key (then arrival order) of at most `window` items. */
export class ReorderBuffer<T> {
  readonly #window: number;
  readonly #heap: Slot<T>[] = [];
  #order = 0;

  constructor(window: number) {
    if (!Number.isInteger(window) || window < 0) throw new RangeError(`reorder window must be an integer ≥ 0, got ${window}`);
    this.#window = window;
  }

  /** Items held now. */
  get size(): number {
    return this.#heap.length;
  }

  /** Adds an item; returns the item released to make room (or the item itself for window 0), if any. */
  push(key: number, item: T): T | undefined {
    if (this.#window === 0) return item;
    this.#insert({ key, order: this.#order++, item });
    return this.#heap.length > this.#window ? this.#pop() : undefined;
  }

  /** Releases everything held, earliest first. */
  *drain(): Generator<T> {
    while (this.#heap.length > 0) yield this.#pop() as T;
  }

  #less(a: Slot<T>, b: Slot<T>): boolean {
    return a.key < b.key || (a.key === b.key && a.order < b.order);
  }

  #insert(slot: Slot<T>): void {
    const heap = this.#heap;
    heap.push(slot);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i] as Slot<T>, heap[parent] as Slot<T>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Slot<T>, heap[i] as Slot<T>];
      i = parent;
    }
  }

  #pop(): T | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      while (true) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.#less(heap[l] as Slot<T>, heap[m] as Slot<T>)) m = l;
        if (r < heap.length && this.#less(heap[r] as Slot<T>, heap[m] as Slot<T>)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as Slot<T>, heap[i] as Slot<T>];
        i = m;
      }
    }
    return top.item;
  }
}
