/** Types of the replay tool. */
import type { Logger } from '../common/log.js';
import type { PutRecordsClient } from '../common/kinesis/index.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { KafkaReplayTarget } from './kafka-writer.js';
import type { Clock } from './pacer.js';

/**
 * The taxi TripEvent as the replay emits it (the original pipeline's event). Datetimes are
 * ISO-8601 UTC strings with milliseconds; `trip_id` is a 63-bit integer written to JSON as a bare
 * integer literal (exact, possibly above 2^53). Columns the TLC row leaves empty or marks `-`
 * (not applicable) are null. `padding` is omitted.
 */
export interface TripEvent {
  vendor_id: number | null;
  pickup_datetime: string;
  dropoff_datetime: string;
  passenger_count: number | null;
  trip_distance: number | null;
  ratecode_id: number | null;
  store_and_fwd_flag: string | null;
  pickup_location_id: number | null;
  dropoff_location_id: number | null;
  payment_type: number | null;
  fare_amount: number | null;
  extra: number | null;
  mta_tax: number | null;
  tip_amount: number | null;
  tolls_amount: number | null;
  improvement_surcharge: number | null;
  total_amount: number | null;
  trip_id: bigint;
  type: 'trip';
}

/** An input format. `auto` picks by file extension, then by content. */
export type InputFormat = 'auto' | 'csv' | 'jsonl';

/** One event read from the input, ready to pace and send. */
export interface ReplayEvent {
  /** The JSON text to send. */
  readonly data: Uint8Array;
  /** The partition key (the trip id, or a hash of the payload when there is none). */
  readonly partitionKey: string;
  /** The event time (the timestamp attribute), epoch ms. */
  readonly timestamp: number;
  /** The input object it came from. */
  readonly source: string;
  /** Its 1-based line number there. */
  readonly line: number;
}

/** What `replay()` does. Every member has a default except `input` and the destination: `streamName` or `kafka`. */
export interface ReplayOptions {
  /** A file, a directory (its files in name order), or `s3://bucket/prefix` (every object under it, in key order). */
  readonly input: string;
  /** The Kinesis stream name or ARN (exclusive with `kafka`). */
  readonly streamName?: string;
  /** A Kafka topic to write to instead of a Kinesis stream (exclusive with `streamName`). */
  readonly kafka?: KafkaReplayTarget;
  /** The Kinesis endpoint; falls back to AWS_ENDPOINT_URL_KINESIS / the SDK chain. */
  readonly endpoint?: string;
  /** The Kinesis region; falls back to the SDK chain. */
  readonly region?: string;
  /** The S3 region for s3:// input; falls back to the SDK chain. */
  readonly bucketRegion?: string;
  /** How many times faster than real time. @default 6480 (as amazon-kinesis-replay) */
  readonly speedup?: number;
  /** The event attribute that paces the replay. @default 'dropoff_datetime' */
  readonly timestampAttribute?: string;
  /** Skip events whose timestamp is before this instant. */
  readonly seek?: Date;
  /** Statistics every so many ms; 0 for none. @default 5000 */
  readonly statisticsFrequencyMs?: number;
  /** The input format. @default 'auto' */
  readonly format?: InputFormat;
  /** Events held to restore timestamp order (a bounded reorder buffer); 0 sends in input order. @default 10000 */
  readonly reorderWindow?: number;
  /** Stop after this many events (after seek). */
  readonly maxEvents?: number;
  /** PutRecords requests in flight at once. @default 4 */
  readonly maxInFlight?: number;
  /**
   * Send KPL-aggregated records: user records of one shard packed into aggregates (each user record
   * keeps its own partition key), as the Kinesis Producer Library does. @default false
   */
  readonly aggregate?: boolean;
  /** With `aggregate`: the largest aggregate in bytes (data + partition key), up to 1 MiB. @default 51200 (the KPL's) */
  readonly aggregateMaxBytes?: number;
  /** Stop at the first invalid row instead of skipping and counting it. @default false */
  readonly strict?: boolean;
  /** A progress bar on stderr: `auto` when stderr is a terminal. @default 'auto' */
  readonly progress?: boolean | 'auto';
  /** The logger. @default createLogger('replay') */
  readonly logger?: Logger;
  /** The clock that paces (tests pass a fake). @default the system clock */
  readonly clock?: Clock;
  /** A Kinesis client to use instead of making one (not destroyed by replay). */
  readonly kinesisClient?: PutRecordsClient;
  /** An S3 client to use instead of making one (not destroyed by replay). */
  readonly s3Client?: S3Client;
  /** Stops the replay early (the summary says so). */
  readonly signal?: AbortSignal;
}

/** What a replay did: the summary line. */
export interface ReplaySummary {
  /** Valid events read from the input. */
  readonly eventsRead: number;
  /** Events acknowledged by Kinesis (user records, when aggregating). */
  readonly eventsSent: number;
  /** Kinesis records acknowledged: eventsSent, or the aggregates that carried them. */
  readonly kinesisRecordsSent: number;
  /** Events skipped because they were before `seek`. */
  readonly eventsSkipped: number;
  /** Rows that could not become events (each logged with line, column and value). */
  readonly invalidRows: number;
  /** Events Kinesis could never take (over the 1 MiB record limit), each logged with the reason. */
  readonly rejectedRecords: number;
  /** Input entries not read: hidden files, subdirectories, empty files, unknown content (each logged with the reason). */
  readonly objectsSkipped: number;
  /** Events that came out of the reorder buffer earlier than an event already sent (sent at once). */
  readonly lateEvents: number;
  /** Records sent again after a failure. */
  readonly retries: number;
  /** Records refused for throughput. */
  readonly throttles: number;
  /** Bytes sent (data + partition keys). */
  readonly bytesSent: number;
  /** The largest replay lag seen, ms. */
  readonly maxReplayLagMs: number;
  /** Wall-clock duration, ms. */
  readonly durationMs: number;
  /** eventsSent per second of duration. */
  readonly eventsPerSecond: number;
  /** Timestamps of the first and last event sent (ISO), if any. */
  readonly firstEventTime: string | null;
  readonly lastEventTime: string | null;
  /** Whether the replay stopped early (signal, max-events). */
  readonly stoppedEarly: boolean;
}
