/**
 * The source side of the pipeline: a source reads shards (or partitions) and hands batches of raw
 * records to the pipeline, in order per shard, waiting while the pipeline is busy (backpressure).
 */
import type { SourcePosition } from '../lifecycle.js';

/** One raw record from a shard. */
export interface SourceRecord {
  readonly data: Uint8Array;
  readonly origin: SourcePosition;
}

/**
 * A batch from one shard. After the pipeline has handled its records, the shard's checkpoint
 * position becomes `position` (a sequence number, a start sentinel, or SHARD_END).
 */
export interface SourceBatch {
  readonly shard: string;
  readonly records: readonly SourceRecord[];
  readonly position: string;
  /** How far the shard's reader is behind the tip of the stream, if the service says. */
  readonly millisBehindLatest?: number;
}

/** Hands a batch to the pipeline; resolves when the pipeline has room for more. */
export type EmitBatch = (batch: SourceBatch) => Promise<void>;

/** A source of raw records. */
export interface Source {
  /** A short description for logs (`kinesis:stream`). */
  readonly description: string;
  /**
   * Starts reading, resuming each shard after its checkpointed position; resolves once reading has
   * started. Reading errors that cannot be retried are reported through `failed`.
   */
  start(positions: Readonly<Record<string, string>>, emit: EmitBatch): Promise<void>;
  /** Resolves (never rejects) with a fatal reading error, if one happens. */
  readonly failed: Promise<Error>;
  /** The largest lag behind the tip over the shards being read (ms). */
  millisBehindLatest(): number;
  /** Shards being read now. */
  activeShards(): number;
  /** Stops reading; resolves when every reader has stopped (no emit after that). */
  stop(): Promise<void>;
}
