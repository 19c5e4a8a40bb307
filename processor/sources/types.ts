/**
 * The source side of the pipeline. A source reads the partitions (Kinesis shards, Kafka partitions)
 * this run owns and hands batches of raw records to the pipeline, in order per partition, waiting
 * while the pipeline is busy (backpressure). Ownership changes while running: the source tells the
 * pipeline when partitions are assigned (after which it reads them from the returned positions)
 * and revoked (the pipeline checkpoints them before they are released), and hears when a
 * checkpoint has been persisted and committed.
 */
import type { LeaseItem } from '../checkpoint/types.js';
import type { SourcePosition } from '../lifecycle.js';
import type { HeldBody } from './kinesis/get-records.js';

/** One raw record from a partition. */
export interface SourceRecord {
  readonly data: Uint8Array;
  readonly origin: SourcePosition;
  /** Set when the source could not unpack the record (e.g. a KPL aggregate failing its MD5 check): it goes to the dead letters with this reason. */
  readonly rejected?: string;
}

/**
 * A batch from one partition. After the pipeline has handled its records, the partition's
 * checkpoint position becomes `position` (a sequence number, a start sentinel, or SHARD_END).
 */
export interface SourceBatch {
  readonly shard: string;
  readonly records: readonly SourceRecord[];
  readonly position: string;
  /** How far the partition's reader is behind the tip of the stream, if the service says. */
  readonly millisBehindLatest?: number;
  /**
   * A Kinesis GetRecords response body held by the source's body scanner, whose records were not
   * parsed in JS (no KPL aggregate in it): a sink that reads bodies natively takes it whole;
   * `records` parses it when read. The pipeline releases it once the batch is handled.
   */
  readonly kinesisBody?: { readonly body: HeldBody; readonly count: number };
}

/** Hands a batch to the pipeline; resolves when the pipeline has room for more. */
export type EmitBatch = (batch: SourceBatch) => Promise<void>;

/** What the pipeline gives a source. */
export interface SourceContext {
  readonly emit: EmitBatch;
  /**
   * Leases just taken: the pipeline commits what their last checkpoints left pending and starts
   * tracking them. Resolves with the position to read each from.
   */
  assigned(items: readonly LeaseItem[]): Promise<ReadonlyMap<string, string>>;
  /**
   * The source has stopped reading these partitions (no emit for them after this call): the
   * pipeline handles what is queued, checkpoints, and forgets them. Resolves once persisted.
   */
  revoked(partitions: readonly string[]): Promise<void>;
  /** Another run was found dead: commit its persisted checkpoints and abort its leftovers. */
  deadRun(runId: string): Promise<void>;
}

/** A source of raw records. */
export interface Source {
  /** A short description for logs (`kinesis:stream`). */
  readonly description: string;
  /** Starts owning and reading partitions; resolves once started. Fatal errors go to `failed`. */
  start(context: SourceContext): Promise<void>;
  /** Resolves (never rejects) with a fatal error (reading, or a lost lease), if one happens. */
  readonly failed: Promise<Error>;
  /**
   * A checkpoint was persisted and committed with these positions; `finished` are partitions read
   * to their end, which the pipeline no longer tracks (the source releases them).
   */
  checkpointed(positions: ReadonlyMap<string, string>, finished: readonly string[]): Promise<void>;
  /**
   * A bounded source (files): resolves once every partition was read to its end and checkpointed,
   * by any run. The pipeline then stops: final checkpoint, and the processor exits 0.
   */
  readonly exhausted?: Promise<void>;
  /** A bounded source's progress for the status line (files done, lines, bytes). */
  progress?(): Readonly<Record<string, number>>;
  /** The largest lag behind the tip over the partitions being read (ms). */
  millisBehindLatest(): number;
  /** Partitions being read now. */
  activeShards(): number;
  /** Partitions whose reader made no progress for longer than its stall threshold. */
  stalledShards(): readonly string[];
  /** Stops reading (no emit after it resolves); ownership is kept until `close`. */
  stop(): Promise<void>;
  /** After the final checkpoint: gives up ownership (releases leases, leaves the group). */
  close(): Promise<void>;
  /** After a fatal error: stops reading and renewing without releasing; other runs take over once the leases expire. */
  abandon(): Promise<void>;
}
