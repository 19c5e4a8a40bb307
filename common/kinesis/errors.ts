/**
 * Errors of the batching Kinesis writer. A record that can never be written surfaces as one of
 * these: it is never dropped silently.
 */
import { EtlError } from '../errors.js';

/** A record the writer could not (and will not) write, with why. */
export interface FailedRecord {
  /** The partition key of the record. */
  readonly partitionKey: string;
  /** The record's size as Kinesis counts it (data + partition key), in bytes. */
  readonly size: number;
  /** Kinesis' error code for the entry (`ProvisionedThroughputExceededException`, `KMSAccessDeniedException`, …) or the request error's name. */
  readonly errorCode: string;
  /** Kinesis' message for the entry, or the request error's message. */
  readonly errorMessage: string;
  /** Attempts made for this record. */
  readonly attempts: number;
}

/**
 * Records could not be written to the stream: a non-retriable error code, a non-retriable request
 * error (the stream does not exist, access denied), or the retries ran out. `records` lists every
 * record given up on; `cause` is the first underlying error.
 */
export class KinesisWriteError extends EtlError {
  /** The records given up on (empty for a rejection at `write()`). */
  readonly records: readonly FailedRecord[];

  constructor(message: string, options: { cause?: unknown; records?: readonly FailedRecord[]; retriable?: boolean } = {}) {
    super(message, options);
    this.records = options.records ?? [];
  }
}

/** A record over the per-record limit (1 MiB of data + partition key) or with an invalid partition key, rejected at `write()`. */
export class KinesisRecordRejectedError extends KinesisWriteError {}

/** The writer was used after `close()`. A programmer error. */
export class KinesisWriterClosedError extends KinesisWriteError {}
