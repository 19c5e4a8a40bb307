/** Errors of the KPL aggregation format (processor/sources/kinesis/kpl.ts). */
import { SourceError } from '../errors.js';

/** Why a record with the KPL magic bytes could not be de-aggregated. */
export const KPL_FAILURES = {
  /** Shorter than the magic bytes plus the 16-byte MD5 digest. */
  truncated: 'truncated',
  /** The trailing MD5 digest is not that of the protobuf body. */
  digestMismatch: 'digest-mismatch',
  /** The protobuf body is not a valid `AggregatedRecord`. */
  malformed: 'malformed',
} as const;

/** One of {@link KPL_FAILURES}. */
export type KplFailureKind = (typeof KPL_FAILURES)[keyof typeof KPL_FAILURES];

/**
 * A Kinesis record carries the KPL magic bytes but is not a valid aggregate: it is too short, its
 * MD5 digest does not match, or its protobuf body is malformed. One such record is one failure
 * (one dead letter), however many user records it claimed to hold. Never retriable.
 */
export class KplFormatError extends SourceError {
  /** What is wrong, as a stable code. */
  readonly kind: KplFailureKind;
  /** The Kinesis sequence number of the record. */
  readonly sequenceNumber: string;
  /** The Kinesis partition key of the record. */
  readonly partitionKey: string;

  constructor(kind: KplFailureKind, reason: string, where: { sequenceNumber: string; partitionKey: string }, options: { cause?: unknown } = {}) {
    super(`KPL aggregated record ${where.sequenceNumber} (partition key ${JSON.stringify(where.partitionKey)}): ${reason}`, options);
    this.kind = kind;
    this.sequenceNumber = where.sequenceNumber;
    this.partitionKey = where.partitionKey;
  }
}

/**
 * A user record cannot be aggregated: its partition key or explicit hash key is invalid, or it is
 * larger than a Kinesis record may be even on its own. Names the field and the value.
 */
export class KplRecordRejectedError extends SourceError {
  /** The field at fault: `partitionKey`, `explicitHashKey` or `data`. */
  readonly field: 'partitionKey' | 'explicitHashKey' | 'data';

  constructor(field: 'partitionKey' | 'explicitHashKey' | 'data', message: string) {
    super(message);
    this.field = field;
  }
}

/** A checkpoint position string is not `<sequence number>` or `<sequence number>:<sub-sequence number>`. */
export class KplPositionError extends SourceError {
  /** The string received. */
  readonly value: string;

  constructor(value: string, reason: string) {
    super(`invalid user-record position ${JSON.stringify(value)}: ${reason}`);
    this.value = value;
  }
}
