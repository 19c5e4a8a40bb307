/**
 * The lifecycle every sink implements, in the two-phase-commit shape of DESIGN.md
 * ("Exactly-once"): events are written in batches; at a checkpoint each sink makes its pending
 * output durable but invisible (`preCommit`), the checkpoint is persisted with what each sink
 * returned, then each sink makes it visible (`commit`). After a restart, `recover` re-runs the
 * commits of the last persisted checkpoint; committing twice must be harmless.
 */
import type { DecodedEvent } from './formats/types.js';

/** Where a record came from, for dead letters and logs. */
export interface SourcePosition {
  /** `kinesis` or `kafka`. */
  readonly source: string;
  /** Stream or topic. */
  readonly stream: string;
  /** Shard id or partition. */
  readonly shard: string;
  /** Sequence number or offset. */
  readonly position: string;
  /** When the record arrived in the stream (epoch ms), if known. */
  readonly arrivalTimeMs?: number;
}

/** One decoded event together with its raw bytes and origin. */
export interface SinkRecord {
  readonly event: DecodedEvent;
  readonly raw: Uint8Array;
  readonly origin: SourcePosition;
}

/** What a sink hands to the checkpoint at pre-commit: JSON-serialisable, replayable by `commit`. */
export type PendingCommit = unknown;

/** A sink of decoded events. Every method but `write` has a no-op default in `BaseSink`. */
export interface Sink {
  /** A short name for logs and metrics (`s3`, `kinesis`, `discard`). */
  readonly name: string;
  /** Opens connections; called once before the first write. */
  start(): Promise<void>;
  /** Takes a batch of valid events. May buffer; resolves when the sink can take more (backpressure). */
  write(records: readonly SinkRecord[]): Promise<void>;
  /** Makes everything written so far durable but not yet visible; returns what `commit` needs. */
  preCommit(checkpointId: number): Promise<PendingCommit>;
  /**
   * Makes the output of a pre-commit visible. Idempotent: `recovering` is set when it runs again
   * after a restart, when some or all of it may already be visible.
   */
  commit(pending: PendingCommit, checkpointId: number, recovering?: boolean): Promise<void>;
  /** Events handed out (written to the destination) so far, for the status line. */
  readonly eventsOut: number;
  /** Releases resources. Uncommitted output stays invisible. */
  close(): Promise<void>;
}

/** No-op defaults for the optional phases. */
export abstract class BaseSink implements Sink {
  abstract readonly name: string;
  eventsOut = 0;
  async start(): Promise<void> {}
  abstract write(records: readonly SinkRecord[]): Promise<void>;
  async preCommit(_checkpointId: number): Promise<PendingCommit> {
    return null;
  }
  async commit(_pending: PendingCommit, _checkpointId: number, _recovering?: boolean): Promise<void> {}
  async close(): Promise<void> {}
}
