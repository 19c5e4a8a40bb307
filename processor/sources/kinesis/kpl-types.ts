/** Types of the KPL aggregation format (processor/sources/kinesis/kpl.ts). */
import type { KplFormatError } from './kpl-errors.js';

/** A Kinesis record as GetRecords returns it: the input of `deaggregate`. */
export interface KinesisRecordIn {
  /** The record's bytes. */
  readonly data: Uint8Array;
  /** Its sequence number (a decimal string of up to 128 bits). */
  readonly sequenceNumber: string;
  /** Its partition key. */
  readonly partitionKey: string;
  /** Its explicit hash key, when the producer set one (GetRecords does not return it). */
  readonly explicitHashKey?: string;
}

/**
 * One user record: either a whole non-aggregated Kinesis record, or one record out of a KPL
 * aggregate. Its position is (`sequenceNumber`, `subSequenceNumber`).
 */
export interface UserRecord {
  /** The user record's bytes. */
  readonly data: Uint8Array;
  /** The sequence number of the Kinesis record it came in. */
  readonly sequenceNumber: string;
  /** Its index within the aggregate (0-based); undefined for a record that was not aggregated. */
  readonly subSequenceNumber: number | undefined;
  /** Its own partition key (from the aggregate's table; the Kinesis record's when not aggregated). */
  readonly partitionKey: string;
  /** Its own explicit hash key, if it had one. */
  readonly explicitHashKey: string | undefined;
}

/** What `deaggregate` makes of one Kinesis record: its user records, or one failure. */
export type DeaggregateResult =
  | { readonly ok: true; readonly aggregated: boolean; readonly records: readonly UserRecord[] }
  | { readonly ok: false; readonly error: KplFormatError };

/** A user record to aggregate. */
export interface UserRecordIn {
  /** Its bytes. */
  readonly data: Uint8Array;
  /** Its partition key (1 to 256 characters). */
  readonly partitionKey: string;
  /** A decimal 128-bit hash key overriding the partition key's hash. */
  readonly explicitHashKey?: string;
}

/** A Kinesis record ready for PutRecords: a KPL aggregate, or a user record too large to aggregate. */
export interface AggregatedRecordOut {
  /** The record's bytes (magic + protobuf + MD5 for an aggregate). */
  readonly data: Uint8Array;
  /** The partition key to put it with: that of its first user record. */
  readonly partitionKey: string;
  /** The explicit hash key to put it with: that of its first user record, if it had one. */
  readonly explicitHashKey?: string;
  /** The user records it holds. */
  readonly userRecords: number;
  /** Whether it is a KPL aggregate (false: a plain user record passed through). */
  readonly aggregated: boolean;
}

/** Limits of an aggregate. */
export interface AggregatorOptions {
  /** The largest Kinesis record to make, counted as Kinesis does (data + partition key). @default 1 MiB */
  readonly maxBytes?: number;
  /** The most user records per aggregate. @default no limit but maxBytes */
  readonly maxRecords?: number;
}

/** A position within a shard: a Kinesis record, and optionally one user record inside it. */
export interface UserRecordPosition {
  /** The Kinesis sequence number. */
  readonly sequenceNumber: string;
  /** The user record's index within the aggregate; undefined means the whole Kinesis record. */
  readonly subSequenceNumber: bigint | undefined;
}
