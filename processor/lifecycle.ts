/**
 * The lifecycle every sink implements: a typed two-phase committer in the shape of Flink's
 * `TwoPhaseCommitSinkFunction` and Arroyo's `TwoPhaseCommitter` (DESIGN.md, "Exactly-once"):
 * events are written in batches; at a checkpoint each sink makes its pending output durable but
 * invisible (`preCommit(): P`), the checkpoint is persisted with every sink's `P`, then each sink
 * makes it visible (`commit(P)`, idempotent). A persisted `P` may be committed again by any worker
 * (after a crash, or when it takes over a lease), and a sink cleans up what a dead run left that no
 * persisted checkpoint holds (`abortLeftovers`).
 */
import type { Logger } from '../common/log.js';
import type { DecodedEvent } from './formats/types.js';
import type { SourceRecord } from './sources/types.js';
import type { BodyScanner, HeldBody } from './sources/kinesis/get-records.js';

/** Where a record came from, for dead letters and logs. */
export interface SourcePosition {
  /** `kinesis`, `kafka` or `file`. */
  readonly source: string;
  /** Stream or topic. */
  readonly stream: string;
  /** Shard id or partition. */
  readonly shard: string;
  /** Sequence number or offset. */
  readonly position: string;
  /** When the record arrived in the stream (epoch ms), if known. */
  readonly arrivalTimeMs?: number;
  /** The record's partition key (a KPL user record's own), if the source has one. */
  readonly partitionKey?: string;
  /** A KPL user record's explicit hash key, if it had one. */
  readonly explicitHashKey?: string;
}

/** One decoded event together with its raw bytes and origin. */
export interface SinkRecord {
  readonly event: DecodedEvent;
  readonly raw: Uint8Array;
  readonly origin: SourcePosition;
}

/** What a sink is started with, before any recovery commit runs. */
export interface SinkContext {
  /** This processor run: names what the sink creates (upload keys, transactional ids) so a dead run's leftovers can be found. */
  readonly runId: string;
  readonly log: Logger;
  /** Sends a record the sink cannot write (e.g. its partition cannot be rendered) to the dead letters. */
  reject(record: SinkRecord, reason: string): void;
}

/** A sink of decoded events; `P` is its pending commit (JSON-serialisable). */
export interface Sink<P = unknown> {
  /** A short name for logs, metrics and the checkpoint's pending map (`s3`, `kinesis`, `discard`). */
  readonly name: string;
  /** Opens connections; called once, before recovery commits run and before the first write. */
  start(context: SinkContext): Promise<void>;
  /** Takes a batch of valid events. May buffer; resolves when the sink can take more (backpressure). */
  write(records: readonly SinkRecord[]): Promise<void>;
  /** Makes everything written so far durable but not yet visible; undefined when nothing is pending. */
  preCommit(checkpointId: number): Promise<P | undefined>;
  /**
   * Makes a pre-commit's output visible. Idempotent: `recovering` is set when it runs for a
   * checkpoint persisted by another run (or before a restart); some or all of it may be visible.
   * Returns the events it made visible for the first time.
   */
  commit(pending: P, checkpointId: number, recovering: boolean): Promise<number>;
  /**
   * Cleans up what the dead run `runId` left behind that none of its persisted checkpoints (`kept`)
   * holds, e.g. open multipart uploads. Returns how many things were aborted.
   */
  abortLeftovers(runId: string, kept: readonly P[]): Promise<number>;
  /** Events made visible at the destination so far, for the status line. */
  readonly eventsOut: number;
  /** Releases resources. Uncommitted output stays invisible. */
  close(): Promise<void>;
}

/** No-op defaults for sinks with nothing to commit (at-least-once or discarding sinks). */
export abstract class BaseSink<P = never> implements Sink<P> {
  abstract readonly name: string;
  eventsOut = 0;
  async start(_context: SinkContext): Promise<void> {}
  abstract write(records: readonly SinkRecord[]): Promise<void>;
  async preCommit(_checkpointId: number): Promise<P | undefined> {
    return undefined;
  }
  async commit(_pending: P, _checkpointId: number, _recovering: boolean): Promise<number> {
    return 0;
  }
  async abortLeftovers(_runId: string, _kept: readonly P[]): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}

/**
 * A sink that decodes the source's records itself (the native Parquet path of the S3 sink): when
 * it is the only sink, the pipeline hands it the raw records instead of decoding them into JS
 * values first.
 */
export interface RawRecordSink {
  /**
   * Decodes, validates and writes `records` (none carries a source rejection); calls `reject` for
   * each record it refuses, with the reason (the JS decoder's, or the partition's); resolves with
   * the number of records written.
   */
  writeRaw(records: readonly SourceRecord[], reject: (record: SourceRecord, reason: string) => void): Promise<number>;
  /**
   * As `writeRaw`, for the records of a Kinesis GetRecords response body left unparsed (held by
   * the scanner of `scanKinesisBody`: `SourceBatch.kinesisBody`); `records()` parses them in JS
   * (for the few the sink refuses); `reject` gets the index of the record in the response.
   */
  writeKinesisBody(body: HeldBody, records: () => readonly SourceRecord[], reject: (index: number, reason: string) => void): Promise<number>;
  /** How the Kinesis source scans the bodies it hands to `writeKinesisBody`. */
  readonly scanKinesisBody: BodyScanner;
}

/** Whether a sink takes raw records ({@link RawRecordSink}). */
export function isRawRecordSink(sink: Sink): sink is Sink & RawRecordSink {
  return typeof (sink as Partial<RawRecordSink>).writeRaw === 'function';
}
