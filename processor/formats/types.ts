/**
 * The event model and the file-format interfaces. A schema is data (a JSON file), not code; a
 * decoded event holds typed values in the schema's field order.
 */

/** The types a schema field can have (the TripEvent schema's Avro-like names). */
export const FIELD_TYPES = ['int', 'long', 'double', 'string', 'boolean', 'timestamp-millis'] as const;
/** A field's type. */
export type FieldType = (typeof FIELD_TYPES)[number];

/** One field of a schema. */
export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** Whether the field may be missing or null. @default false */
  readonly nullable?: boolean;
}

/** An event schema, as read from its JSON file. */
export interface EventSchema {
  /** The schema's name (`TripEvent`). */
  readonly name: string;
  /** The fields, in output column order. */
  readonly fields: readonly FieldSpec[];
  /** The field holding the event type (for routing, e.g. the OpenSearch index). */
  readonly typeField?: string;
  /** The field holding the event's unique id (document id, dedup key). */
  readonly idField?: string;
  /** The field holding the event time used by partition templates by default. */
  readonly timeField?: string;
}

/**
 * A typed value: `int`/`double` as number; `long` as bigint (full 64-bit precision);
 * `timestamp-millis` as epoch milliseconds (number, may be negative); `string`; `boolean`;
 * null for a missing nullable field.
 */
export type EventValue = number | bigint | string | boolean | null;

/** A decoded, validated event: values in the schema's field order. */
export interface DecodedEvent {
  readonly values: readonly EventValue[];
}

/** The outcome of decoding one record. */
export type DecodeResult =
  | { readonly ok: true; readonly event: DecodedEvent }
  | { readonly ok: false; readonly reason: string };

/** Builds one output file from events. */
export interface FileEncoder {
  /** Adds one event. */
  append(event: DecodedEvent): void;
  /** Events appended so far. */
  readonly count: number;
  /** A cheap estimate of the finished file's size, for rolling on size. */
  readonly estimatedBytes: number;
  /** Produces the whole file; the encoder is spent afterwards. */
  finish(): Promise<Uint8Array>;
}

/** A file format the S3 sink can write. */
export interface FileFormat {
  /** 'parquet' or 'json'. */
  readonly name: string;
  /** File extension including the dot. */
  readonly extension: string;
  /** Content-Type of the objects. */
  readonly contentType: string;
  /** A new encoder for one file. */
  createEncoder(): FileEncoder;
}
