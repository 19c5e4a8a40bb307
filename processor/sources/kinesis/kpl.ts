/**
 * The KPL aggregation format: many user records in one Kinesis record, as the Kinesis Producer
 * Library (and many Java, Python and Go producers) write them, and as the KCL, Flink's Kinesis
 * consumer and Firehose de-aggregate them. Pure functions over bytes, no I/O.
 *
 * An aggregated record is:
 * ```
 * F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf (16 bytes)
 *
 * message AggregatedRecord { repeated string partition_key_table = 1;
 *                            repeated string explicit_hash_key_table = 2;
 *                            repeated Record records = 3; }
 * message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                  required bytes data = 3; repeated Tag tags = 4; }
 * message Tag { required string key = 1; optional string value = 2; }
 * ```
 * The codec is written for this fixed schema (varints and length-delimited fields); unknown fields
 * are skipped as protobuf requires. uint64 values are decoded exactly: an index beyond 2^53 is
 * reported with all its digits, never rounded onto a valid one.
 *
 * Where this differs from the KCL: a record with the magic bytes whose digest does not match, or
 * that is too short to hold a digest, is a failure here (one dead letter with the reason); the KCL
 * hands such a record on as one opaque user record.
 */
import { createHash } from 'node:crypto';
import { KPL_FAILURES, KplFormatError, KplRecordRejectedError } from './kpl-errors.js';
import type { KplFailureKind } from './kpl-errors.js';
import type { AggregatedRecordOut, AggregatorOptions, DeaggregateResult, KinesisRecordIn, UserRecord, UserRecordIn } from './kpl-types.js';

/** The four bytes every KPL aggregate starts with. */
export const KPL_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
/** The size of the trailing MD5 digest. */
export const KPL_DIGEST_BYTES = 16;
/** The Kinesis per-record limit (data + partition key), the default size limit of an aggregate. */
export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;
/** The Kinesis limit on a partition key, in Unicode characters. */
const MAX_PARTITION_KEY_CHARS = 256;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Whether the bytes start with the KPL magic. */
export function hasKplMagic(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0xf3 && data[1] === 0x89 && data[2] === 0x9a && data[3] === 0xc2;
}

/** A protobuf parse problem, turned into a KplFormatError by `deaggregate`. */
class Malformed extends Error {}

/** A cursor over a protobuf byte range. */
class Reader {
  readonly #bytes: Uint8Array;
  #at: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.#bytes = bytes;
    this.#at = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#at >= this.#end;
  }

  get offset(): number {
    return this.#at;
  }

  /** A varint as a number when it is at most 2^53 - 1, else as an exact bigint (< 2^64). */
  varint(what: string): number | bigint {
    const start = this.#at;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i += 1) {
      if (this.#at >= this.#end) throw new Malformed(`truncated varint (${what}) at byte ${start}`);
      const byte = this.#bytes[this.#at++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    // Past 49 bits: finish exactly with bigint.
    let big = BigInt(value);
    let shift = 49n;
    for (let i = 7; i < 10; i += 1) {
      if (this.#at >= this.#end) throw new Malformed(`truncated varint (${what}) at byte ${start}`);
      const byte = this.#bytes[this.#at++] as number;
      big |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) {
        if (big >= 1n << 64n) throw new Malformed(`varint (${what}) at byte ${start} is over 64 bits`);
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      shift += 7n;
    }
    throw new Malformed(`varint (${what}) at byte ${start} is longer than 10 bytes`);
  }

  /** A length-delimited field's [start, end). */
  lengthDelimited(what: string): [number, number] {
    const length = this.varint(`length of ${what}`);
    if (typeof length === 'bigint' || this.#at + length > this.#end) {
      throw new Malformed(`${what} at byte ${this.#at} claims ${length} bytes, only ${this.#end - this.#at} are left`);
    }
    const start = this.#at;
    this.#at += length;
    return [start, this.#at];
  }

  /** Skips a field of an unknown number. */
  skip(wireType: number, field: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint(`unknown field ${field}`);
        return;
      case WIRE_FIXED64:
        this.#advance(8, field);
        return;
      case WIRE_LENGTH:
        this.lengthDelimited(`unknown field ${field}`);
        return;
      case WIRE_FIXED32:
        this.#advance(4, field);
        return;
      default:
        throw new Malformed(`field ${field} at byte ${this.#at} has wire type ${wireType}, which this schema never uses`);
    }
  }

  #advance(n: number, field: number): void {
    if (this.#at + n > this.#end) throw new Malformed(`truncated fixed-width field ${field} at byte ${this.#at}`);
    this.#at += n;
  }
}

/** A parsed `Record` before its indices are resolved. */
interface RawUserRecord {
  readonly partitionKeyIndex: number | bigint;
  readonly explicitHashKeyIndex: number | bigint | undefined;
  readonly dataStart: number;
  readonly dataEnd: number;
}

function parseUserRecord(bytes: Uint8Array, start: number, end: number, index: number): RawUserRecord {
  const reader = new Reader(bytes, start, end);
  let partitionKeyIndex: number | bigint | undefined;
  let explicitHashKeyIndex: number | bigint | undefined;
  let data: [number, number] | undefined;
  while (!reader.done) {
    const key = reader.varint(`record ${index} field key`);
    if (typeof key === 'bigint') throw new Malformed(`record ${index}: field key ${key} is out of range`);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1 && wire === WIRE_VARINT) partitionKeyIndex = reader.varint(`record ${index} partition_key_index`);
    else if (field === 2 && wire === WIRE_VARINT) explicitHashKeyIndex = reader.varint(`record ${index} explicit_hash_key_index`);
    else if (field === 3 && wire === WIRE_LENGTH) data = reader.lengthDelimited(`record ${index} data`);
    else if (field === 4 && wire === WIRE_LENGTH) reader.lengthDelimited(`record ${index} tag`);
    else if (field >= 1 && field <= 4) throw new Malformed(`record ${index}: field ${field} has wire type ${wire}, the schema says ${field === 3 || field === 4 ? WIRE_LENGTH : WIRE_VARINT}`);
    else reader.skip(wire, field);
  }
  if (partitionKeyIndex === undefined) throw new Malformed(`record ${index} has no partition_key_index (a required field)`);
  if (data === undefined) throw new Malformed(`record ${index} has no data (a required field)`);
  return { partitionKeyIndex, explicitHashKeyIndex, dataStart: data[0], dataEnd: data[1] };
}

function lookup(table: readonly string[], index: number | bigint, what: string, record: number): string {
  const value = typeof index === 'number' ? table[index] : undefined;
  if (value === undefined) throw new Malformed(`record ${record}: ${what} ${index} is out of range (the table has ${table.length} entries)`);
  return value;
}

function equalBytes(a: Uint8Array, aStart: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i += 1) if (a[aStart + i] !== b[i]) return false;
  return true;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * The user records of one Kinesis record. A record without the KPL magic is one user record with
 * `subSequenceNumber` undefined. An aggregate yields its user records in order, each with its
 * index as `subSequenceNumber`, its own partition key and explicit hash key; an aggregate of no
 * records yields none. A record with the magic that is too short, fails its MD5 check, or whose
 * protobuf is malformed yields one failure naming what is wrong.
 */
export function deaggregate(record: KinesisRecordIn): DeaggregateResult {
  const { data, sequenceNumber, partitionKey } = record;
  if (!hasKplMagic(data)) {
    return {
      ok: true,
      aggregated: false,
      records: [{ data, sequenceNumber, subSequenceNumber: undefined, partitionKey, explicitHashKey: record.explicitHashKey }],
    };
  }
  const fail = (kind: KplFailureKind, reason: string, cause?: unknown): DeaggregateResult => ({
    ok: false,
    error: new KplFormatError(kind, reason, { sequenceNumber, partitionKey }, cause === undefined ? {} : { cause }),
  });
  if (data.length < KPL_MAGIC.length + KPL_DIGEST_BYTES) {
    return fail(KPL_FAILURES.truncated, `has the KPL magic bytes but only ${data.length} bytes, fewer than the ${KPL_MAGIC.length + KPL_DIGEST_BYTES} of magic and MD5 digest`);
  }
  const bodyEnd = data.length - KPL_DIGEST_BYTES;
  const digest = createHash('md5').update(data.subarray(KPL_MAGIC.length, bodyEnd)).digest();
  if (!equalBytes(data, bodyEnd, digest)) {
    return fail(
      KPL_FAILURES.digestMismatch,
      `MD5 digest mismatch: the record ends with ${toHex(data.subarray(bodyEnd))}, the MD5 of its ${bodyEnd - KPL_MAGIC.length}-byte protobuf body is ${digest.toString('hex')}`,
    );
  }
  try {
    const partitionKeys: string[] = [];
    const hashKeys: string[] = [];
    const raw: RawUserRecord[] = [];
    const reader = new Reader(data, KPL_MAGIC.length, bodyEnd);
    while (!reader.done) {
      const at = reader.offset;
      const key = reader.varint('field key');
      if (typeof key === 'bigint') throw new Malformed(`field key ${key} at byte ${at} is out of range`);
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (field >= 1 && field <= 3 && wire !== WIRE_LENGTH) throw new Malformed(`field ${field} at byte ${at} has wire type ${wire}, the schema says ${WIRE_LENGTH}`);
      if (field === 1 || field === 2) {
        const [start, end] = reader.lengthDelimited(field === 1 ? 'partition_key_table entry' : 'explicit_hash_key_table entry');
        (field === 1 ? partitionKeys : hashKeys).push(utf8.decode(data.subarray(start, end)));
      } else if (field === 3) {
        const [start, end] = reader.lengthDelimited(`record ${raw.length}`);
        raw.push(parseUserRecord(data, start, end, raw.length));
      } else reader.skip(wire, field);
    }
    const records: UserRecord[] = raw.map((r, i) => ({
      data: data.subarray(r.dataStart, r.dataEnd),
      sequenceNumber,
      subSequenceNumber: i,
      partitionKey: lookup(partitionKeys, r.partitionKeyIndex, 'partition_key_index', i),
      explicitHashKey: r.explicitHashKeyIndex === undefined ? undefined : lookup(hashKeys, r.explicitHashKeyIndex, 'explicit_hash_key_index', i),
    }));
    return { ok: true, aggregated: true, records };
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    return fail(KPL_FAILURES.malformed, `malformed protobuf AggregatedRecord: ${error.message}`);
  }
}

// ---- aggregation ----

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size += 1;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 128) {
    out[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** Size of a length-delimited field of `length` bytes with a one-byte key. */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

interface Pending {
  readonly data: Uint8Array;
  readonly partitionKeyIndex: number;
  readonly explicitHashKeyIndex: number | undefined;
  readonly bodySize: number;
}

function validate(record: UserRecordIn): void {
  const key = record.partitionKey;
  if (typeof key !== 'string' || key.length === 0 || [...key].length > MAX_PARTITION_KEY_CHARS) {
    throw new KplRecordRejectedError('partitionKey', `partitionKey must have 1 to ${MAX_PARTITION_KEY_CHARS} characters, got ${JSON.stringify(String(key).slice(0, 300))}`);
  }
  const hash = record.explicitHashKey;
  if (hash !== undefined && (!/^(0|[1-9]\d{0,38})$/.test(hash) || BigInt(hash) >= 1n << 128n)) {
    throw new KplRecordRejectedError('explicitHashKey', `explicitHashKey must be a decimal integer in [0, 2^128), got ${JSON.stringify(hash)} (partition key ${JSON.stringify(key)})`);
  }
}

/**
 * Packs user records into KPL aggregates, in order, each within the size limit counted as Kinesis
 * counts it (data + the aggregate's partition key, which is its first user record's). Feed it with
 * `add`, which hands back the Kinesis records that are complete; `flush` hands back the rest.
 * A user record too large to share an aggregate, but within the Kinesis limit on its own, is
 * passed through as a plain record (consumers pass non-aggregated records through).
 */
export class Aggregator {
  readonly #maxBytes: number;
  readonly #maxRecords: number;
  #partitionKeys = new Map<string, number>();
  #hashKeys = new Map<string, number>();
  #records: Pending[] = [];
  #protoBytes = 0;
  #first: UserRecordIn | undefined;

  constructor(options: AggregatorOptions = {}) {
    const maxBytes = options.maxBytes ?? KINESIS_MAX_RECORD_BYTES;
    const maxRecords = options.maxRecords ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isInteger(maxBytes) || maxBytes < 64 || maxBytes > KINESIS_MAX_RECORD_BYTES) {
      throw new RangeError(`Aggregator option maxBytes must be an integer from 64 to ${KINESIS_MAX_RECORD_BYTES}, got ${maxBytes}`);
    }
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new RangeError(`Aggregator option maxRecords must be an integer ≥ 1, got ${maxRecords}`);
    this.#maxBytes = maxBytes;
    this.#maxRecords = maxRecords;
  }

  /** User records waiting in the open aggregate. */
  get pending(): number {
    return this.#records.length;
  }

  /** The size Kinesis would count for the open aggregate now (0 when empty). */
  get size(): number {
    return this.#first === undefined ? 0 : this.#sizeWith(this.#protoBytes, this.#first.partitionKey);
  }

  /**
   * Adds a user record. Returns the Kinesis records completed by it (none, the open aggregate it
   * did not fit in, and/or itself passed through). Throws a KplRecordRejectedError, taking nothing,
   * when the record is invalid or over the Kinesis limit on its own.
   */
  add(record: UserRecordIn): AggregatedRecordOut[] {
    validate(record);
    const plainSize = record.data.byteLength + Buffer.byteLength(record.partitionKey, 'utf8');
    if (plainSize > KINESIS_MAX_RECORD_BYTES) {
      throw new KplRecordRejectedError(
        'data',
        `record of ${plainSize} bytes (data ${record.data.byteLength} + partition key ${plainSize - record.data.byteLength}) is over the ${KINESIS_MAX_RECORD_BYTES}-byte Kinesis record limit; partition key ${JSON.stringify(record.partitionKey)}`,
      );
    }
    const out: AggregatedRecordOut[] = [];
    if (this.#records.length >= this.#maxRecords || (this.#first !== undefined && this.#grownSize(record, this.#first.partitionKey) > this.#maxBytes)) {
      const done = this.flush();
      if (done) out.push(done);
    }
    if (this.#grownSize(record, record.partitionKey) > this.#maxBytes && this.#records.length === 0) {
      // Too large to aggregate even alone: pass it through as it is.
      out.push({ data: record.data, partitionKey: record.partitionKey, explicitHashKey: record.explicitHashKey, userRecords: 1, aggregated: false });
      return out;
    }
    this.#append(record);
    return out;
  }

  /** Closes the open aggregate and returns it (undefined when it holds nothing). */
  flush(): AggregatedRecordOut | undefined {
    const first = this.#first;
    if (first === undefined) return undefined;
    const data = this.#encode();
    const out: AggregatedRecordOut = {
      data,
      partitionKey: first.partitionKey,
      ...(first.explicitHashKey === undefined ? {} : { explicitHashKey: first.explicitHashKey }),
      userRecords: this.#records.length,
      aggregated: true,
    };
    this.#partitionKeys = new Map();
    this.#hashKeys = new Map();
    this.#records = [];
    this.#protoBytes = 0;
    this.#first = undefined;
    return out;
  }

  #sizeWith(protoBytes: number, aggregateKey: string): number {
    return KPL_MAGIC.length + protoBytes + KPL_DIGEST_BYTES + Buffer.byteLength(aggregateKey, 'utf8');
  }

  /** The Kinesis size of the open aggregate with `record` added. */
  #grownSize(record: UserRecordIn, aggregateKey: string): number {
    return this.#sizeWith(this.#protoBytes + this.#growth(record).total, aggregateKey);
  }

  #growth(record: UserRecordIn): { total: number; body: number; pkIndex: number; ehkIndex: number | undefined; newPk: boolean; newEhk: boolean } {
    let total = 0;
    const knownPk = this.#partitionKeys.get(record.partitionKey);
    const pkIndex = knownPk ?? this.#partitionKeys.size;
    if (knownPk === undefined) total += fieldSize(Buffer.byteLength(record.partitionKey, 'utf8'));
    let ehkIndex: number | undefined;
    let newEhk = false;
    if (record.explicitHashKey !== undefined) {
      const known = this.#hashKeys.get(record.explicitHashKey);
      ehkIndex = known ?? this.#hashKeys.size;
      newEhk = known === undefined;
      if (newEhk) total += fieldSize(record.explicitHashKey.length);
    }
    const body = 1 + varintSize(pkIndex) + (ehkIndex === undefined ? 0 : 1 + varintSize(ehkIndex)) + fieldSize(record.data.byteLength);
    total += fieldSize(body);
    return { total, body, pkIndex, ehkIndex, newPk: knownPk === undefined, newEhk };
  }

  #append(record: UserRecordIn): void {
    const g = this.#growth(record);
    if (g.newPk) this.#partitionKeys.set(record.partitionKey, g.pkIndex);
    if (g.newEhk && record.explicitHashKey !== undefined) this.#hashKeys.set(record.explicitHashKey, g.ehkIndex as number);
    this.#records.push({ data: record.data, partitionKeyIndex: g.pkIndex, explicitHashKeyIndex: g.ehkIndex, bodySize: g.body });
    this.#protoBytes += g.total;
    this.#first ??= record;
  }

  #encode(): Uint8Array {
    const out = new Uint8Array(KPL_MAGIC.length + this.#protoBytes + KPL_DIGEST_BYTES);
    out.set(KPL_MAGIC, 0);
    let at = KPL_MAGIC.length;
    const writeString = (field: number, text: string): void => {
      const bytes = encoder.encode(text);
      out[at++] = (field << 3) | WIRE_LENGTH;
      at = writeVarint(out, at, bytes.length);
      out.set(bytes, at);
      at += bytes.length;
    };
    for (const key of this.#partitionKeys.keys()) writeString(1, key);
    for (const key of this.#hashKeys.keys()) writeString(2, key);
    for (const r of this.#records) {
      out[at++] = (3 << 3) | WIRE_LENGTH;
      at = writeVarint(out, at, r.bodySize);
      out[at++] = (1 << 3) | WIRE_VARINT;
      at = writeVarint(out, at, r.partitionKeyIndex);
      if (r.explicitHashKeyIndex !== undefined) {
        out[at++] = (2 << 3) | WIRE_VARINT;
        at = writeVarint(out, at, r.explicitHashKeyIndex);
      }
      out[at++] = (3 << 3) | WIRE_LENGTH;
      at = writeVarint(out, at, r.data.byteLength);
      out.set(r.data, at);
      at += r.data.byteLength;
    }
    if (at !== KPL_MAGIC.length + this.#protoBytes) throw new Error(`KPL aggregate size bookkeeping is off: wrote ${at - KPL_MAGIC.length} protobuf bytes, counted ${this.#protoBytes}`);
    out.set(createHash('md5').update(out.subarray(KPL_MAGIC.length, at)).digest(), at);
    return out;
  }
}

/**
 * Packs user records into as few KPL aggregates as the limits allow, in order (see Aggregator).
 * Throws a KplRecordRejectedError naming the record when one cannot be sent at all.
 */
export function aggregate(records: Iterable<UserRecordIn>, options: AggregatorOptions = {}): AggregatedRecordOut[] {
  const aggregator = new Aggregator(options);
  const out: AggregatedRecordOut[] = [];
  for (const record of records) out.push(...aggregator.add(record));
  const last = aggregator.flush();
  if (last) out.push(last);
  return out;
}
