/**
 * The default Parquet encoder: Apache Arrow columns built by hand (typed arrays for numbers,
 * BigInt64Array for longs and timestamps, offsets + UTF-8 bytes for strings, validity bitmaps
 * for nullable fields), written by parquet-wasm (the Rust `parquet` crate compiled to
 * WebAssembly). Building the columns directly instead of through `vectorFromArray` is what
 * makes it fast (see bench/encoders.ts). Longs are exact over the full 64 bits; timestamps are
 * INT64 with the TIMESTAMP(MILLIS, isAdjustedToUTC=true) logical type, any epoch (before 1970
 * too).
 */
import {
  Bool,
  Field,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  makeData,
  tableToIPC,
} from 'apache-arrow';
import type { Data, DataType } from 'apache-arrow';
import type * as ParquetWasm from 'parquet-wasm';
import { EncodeError } from './errors.js';
import type { DecodedEvent, EventSchema, FieldSpec, FileEncoder } from './types.js';

/** Parquet page compression codecs the encoders accept. */
export const PARQUET_COMPRESSIONS = ['SNAPPY', 'GZIP', 'ZSTD', 'UNCOMPRESSED'] as const;
/** A Parquet page compression codec. */
export type ParquetCompression = (typeof PARQUET_COMPRESSIONS)[number];

/** Written into each file's `created_by`. */
const CREATED_BY = 'streaming-etl (parquet-wasm 0.8.0, apache-arrow 21.2.0)';
const INITIAL_CAPACITY = 1024;
const TWO_POW_32 = 4294967296;

type ParquetWasmModule = typeof ParquetWasm;
let wasmModule: Promise<ParquetWasmModule> | undefined;

/**
 * Loads parquet-wasm once per process. Its Node build (`parquet-wasm` resolves to
 * `node/parquet_wasm.js` under Node) compiles and instantiates the WebAssembly synchronously
 * on import, so importing it lazily keeps that cost off processes that write no Parquet.
 */
export function loadParquetWasm(): Promise<ParquetWasmModule> {
  wasmModule ??= import('parquet-wasm');
  return wasmModule;
}

/** Options of {@link createParquetWasmEncoder}. */
export interface ParquetWasmOptions {
  /** Page compression. @default 'SNAPPY' */
  readonly compression?: ParquetCompression;
}

/**
 * Creates an encoder writing one Parquet file with parquet-wasm. `wasm` is the module from
 * {@link loadParquetWasm}.
 */
export function createParquetWasmEncoder(schema: EventSchema, wasm: ParquetWasmModule, options: ParquetWasmOptions = {}): FileEncoder {
  return new ParquetWasmEncoder(schema, wasm, options.compression ?? 'SNAPPY');
}

/** One column under construction. */
interface ColumnBuilder {
  /** Sets row `row` (capacity already ensured). */
  set(row: number, value: NonNullable<DecodedEvent['values'][number]>): void;
  /** Sets row `row` to the placeholder of a null (its validity bit stays clear). */
  setNull(row: number): void;
  /** Grows the storage to `capacity` rows. */
  grow(capacity: number): void;
  /** The finished Arrow data of `length` rows. */
  data(length: number, nullBitmap: Uint8Array | undefined, nullCount: number): Data;
  /** Bytes per row of the column's fixed-width buffers, for the size estimate. */
  readonly fixedWidth: number;
}

class ParquetWasmEncoder implements FileEncoder {
  readonly #fields: readonly FieldSpec[];
  /** The schema's unique-id field: written without a dictionary (every value differs, so one only adds bytes). */
  readonly #idField: string | undefined;
  readonly #wasm: ParquetWasmModule;
  readonly #compression: ParquetCompression;
  readonly #columns: ColumnBuilder[];
  readonly #validity: (Uint8Array | undefined)[];
  readonly #nullCounts: number[];
  readonly #rowWidth: number;
  #capacity = INITIAL_CAPACITY;
  #count = 0;
  #variableBytes = 0;
  #finished = false;

  constructor(schema: EventSchema, wasm: ParquetWasmModule, compression: ParquetCompression) {
    this.#fields = schema.fields;
    this.#idField = schema.fields.some((f) => f.name === schema.idField) ? schema.idField : undefined;
    this.#wasm = wasm;
    this.#compression = compression;
    this.#columns = schema.fields.map((f) => createColumn(f, INITIAL_CAPACITY));
    this.#validity = schema.fields.map((f) => (f.nullable === true ? new Uint8Array(INITIAL_CAPACITY >> 3) : undefined));
    this.#nullCounts = schema.fields.map(() => 0);
    this.#rowWidth = this.#columns.reduce((sum, c) => sum + c.fixedWidth, 0);
  }

  get count(): number {
    return this.#count;
  }

  /** Uncompressed data size so far: fixed-width columns plus string characters. */
  get estimatedBytes(): number {
    return this.#count * this.#rowWidth + this.#variableBytes;
  }

  append(event: DecodedEvent): void {
    if (this.#finished) throw new EncodeError('parquet-wasm encoder used after finish()');
    const row = this.#count;
    if (row === this.#capacity) this.#grow();
    const values = event.values;
    const columns = this.#columns;
    for (let i = 0; i < columns.length; i += 1) {
      const value = values[i];
      const validity = this.#validity[i];
      if (value === null || value === undefined) {
        if (validity === undefined) {
          throw new EncodeError(`field "${(this.#fields[i] as FieldSpec).name}": null in a non-nullable column`, { field: (this.#fields[i] as FieldSpec).name });
        }
        (this.#nullCounts[i] as number) += 1;
        (columns[i] as ColumnBuilder).setNull(row);
        continue;
      }
      if (validity !== undefined) validity[row >> 3] = (validity[row >> 3] as number) | (1 << (row & 7));
      if (typeof value === 'string') this.#variableBytes += value.length;
      (columns[i] as ColumnBuilder).set(row, value);
    }
    this.#count = row + 1;
  }

  #grow(): void {
    const capacity = this.#capacity * 2;
    for (const column of this.#columns) column.grow(capacity);
    for (let i = 0; i < this.#validity.length; i += 1) {
      const old = this.#validity[i];
      if (old === undefined) continue;
      const next = new Uint8Array(capacity >> 3);
      next.set(old);
      this.#validity[i] = next;
    }
    this.#capacity = capacity;
  }

  finish(): Promise<Uint8Array> {
    if (this.#finished) return Promise.reject(new EncodeError('parquet-wasm encoder: finish() called twice'));
    this.#finished = true;
    const length = this.#count;
    const arrowFields = this.#fields.map((f) => new Field(f.name, arrowType(f), f.nullable === true));
    const children = this.#columns.map((c, i) => c.data(length, this.#validity[i], this.#nullCounts[i] as number));
    const struct = makeData({ type: new Struct(arrowFields), length, nullCount: 0, children });
    const batch = new RecordBatch(new Schema(arrowFields), struct);
    const ipc = tableToIPC(new Table([batch]), 'stream');
    const wasm = this.#wasm;
    try {
      const table = wasm.Table.fromIPCStream(ipc);
      let builder = new wasm.WriterPropertiesBuilder().setCompression(wasm.Compression[this.#compression]).setCreatedBy(CREATED_BY);
      if (this.#idField !== undefined) builder = builder.setColumnDictionaryEnabled(this.#idField, false);
      const properties = builder.build();
      return Promise.resolve(wasm.writeParquet(table, properties));
    } catch (error) {
      return Promise.reject(new EncodeError(`parquet-wasm could not write ${length} rows: ${String(error)}`, { cause: error }));
    }
  }
}

/** The Arrow type of a field (timestamps carry the zone 'UTC', so Parquet gets isAdjustedToUTC = true). */
function arrowType(field: FieldSpec): DataType {
  switch (field.type) {
    case 'int':
      return new Int32();
    case 'long':
      return new Int64();
    case 'double':
      return new Float64();
    case 'string':
      return new Utf8();
    case 'boolean':
      return new Bool();
    case 'timestamp-millis':
      return new TimestampMillisecond('UTC');
  }
}

function createColumn(field: FieldSpec, capacity: number): ColumnBuilder {
  switch (field.type) {
    case 'int':
      return new NumberColumn(new Int32(), capacity);
    case 'double':
      return new NumberColumn(new Float64(), capacity);
    case 'long':
      return new Int64Column(capacity, new Int64());
    case 'timestamp-millis':
      return new Int64Column(capacity, new TimestampMillisecond('UTC'));
    case 'string':
      return new Utf8Column();
    case 'boolean':
      return new BoolColumn(capacity);
  }
}

/** 32-bit integers and doubles: one typed array, the value stored as it is. */
class NumberColumn implements ColumnBuilder {
  readonly fixedWidth: number;
  readonly #type: Int32 | Float64;
  readonly #ArrayType: Int32ArrayConstructor | Float64ArrayConstructor;
  #values: Int32Array | Float64Array;
  constructor(type: Int32 | Float64, capacity: number) {
    this.#type = type;
    this.#ArrayType = type instanceof Int32 ? Int32Array : Float64Array;
    this.fixedWidth = this.#ArrayType.BYTES_PER_ELEMENT;
    this.#values = new this.#ArrayType(capacity);
  }
  set(row: number, value: unknown): void {
    this.#values[row] = value as number;
  }
  setNull(): void {
    // storage is zero-initialised and each row is written once
  }
  grow(capacity: number): void {
    const next = new this.#ArrayType(capacity);
    next.set(this.#values);
    this.#values = next;
  }
  data(length: number, nullBitmap: Uint8Array | undefined, nullCount: number): Data {
    const type = this.#type;
    const values = this.#values.subarray(0, length);
    return type instanceof Int32
      ? makeData({ type, length, nullCount, nullBitmap, data: values as Int32Array })
      : makeData({ type, length, nullCount, nullBitmap, data: values as Float64Array });
  }
}

/**
 * 64-bit integers: longs arrive as bigint and are stored as they are; timestamps arrive as
 * epoch-ms numbers and are stored as two 32-bit halves (no BigInt allocation per value).
 */
class Int64Column implements ColumnBuilder {
  readonly fixedWidth = 8;
  readonly #type: Int64 | TimestampMillisecond;
  #values: BigInt64Array;
  #halves: Int32Array;
  constructor(capacity: number, type: Int64 | TimestampMillisecond) {
    this.#type = type;
    this.#values = new BigInt64Array(capacity);
    this.#halves = new Int32Array(this.#values.buffer);
  }
  set(row: number, value: unknown): void {
    if (typeof value === 'bigint') {
      this.#values[row] = value;
      return;
    }
    // Little-endian halves of a safe integer; floor division keeps negative values right.
    const n = value as number;
    const high = Math.floor(n / TWO_POW_32);
    this.#halves[row * 2] = n - high * TWO_POW_32;
    this.#halves[row * 2 + 1] = high;
  }
  setNull(): void {
    // storage is zero-initialised and each row is written once
  }
  grow(capacity: number): void {
    const next = new BigInt64Array(capacity);
    next.set(this.#values);
    this.#values = next;
    this.#halves = new Int32Array(next.buffer);
  }
  data(length: number, nullBitmap: Uint8Array | undefined, nullCount: number): Data {
    const type = this.#type;
    const data = this.#values.subarray(0, length);
    return type instanceof TimestampMillisecond
      ? makeData({ type, length, nullCount, nullBitmap, data })
      : makeData({ type, length, nullCount, nullBitmap, data });
  }
}

class BoolColumn implements ColumnBuilder {
  readonly fixedWidth = 1;
  #bits: Uint8Array;
  constructor(capacity: number) {
    this.#bits = new Uint8Array(capacity >> 3);
  }
  set(row: number, value: unknown): void {
    if (value === true) this.#bits[row >> 3] = (this.#bits[row >> 3] as number) | (1 << (row & 7));
  }
  setNull(): void {
    // storage is zero-initialised and each row is written once
  }
  grow(capacity: number): void {
    const next = new Uint8Array(capacity >> 3);
    next.set(this.#bits);
    this.#bits = next;
  }
  data(length: number, nullBitmap: Uint8Array | undefined, nullCount: number): Data {
    return makeData({ type: new Bool(), length, nullCount, nullBitmap, data: this.#bits.subarray(0, (length + 7) >> 3) });
  }
}

/** Strings are kept as JS strings and UTF-8-encoded in one go at the end. */
class Utf8Column implements ColumnBuilder {
  readonly fixedWidth = 4;
  #values: string[] = [];
  set(row: number, value: unknown): void {
    this.#values[row] = value as string;
  }
  setNull(row: number): void {
    this.#values[row] = '';
  }
  grow(): void {
    // a JS array grows by itself
  }
  data(length: number, nullBitmap: Uint8Array | undefined, nullCount: number): Data {
    const values = this.#values;
    const joined = values.join('');
    const bytes = new TextEncoder().encode(joined);
    const valueOffsets = new Int32Array(length + 1);
    let offset = 0;
    if (bytes.length === joined.length) {
      // Every character is ASCII (UTF-8 never has fewer bytes than UTF-16 code units, and as
      // many only for ASCII): byte lengths are string lengths.
      for (let i = 0; i < length; i += 1) {
        offset += (values[i] as string).length;
        valueOffsets[i + 1] = offset;
      }
    } else {
      for (let i = 0; i < length; i += 1) {
        offset += Buffer.byteLength(values[i] as string, 'utf8');
        valueOffsets[i + 1] = offset;
      }
    }
    this.#values = [];
    return makeData({ type: new Utf8(), length, nullCount, nullBitmap, valueOffsets, data: bytes });
  }
}
