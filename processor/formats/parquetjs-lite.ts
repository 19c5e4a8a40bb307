/**
 * The parquetjs-lite 0.8.7 encoder: pure JavaScript, selectable for environments where
 * WebAssembly is unwelcome, and some 40 times slower than parquet-wasm (bench/encoders.ts).
 * Its limits, and how they are handled here so that a wrong value is never written silently:
 * - longs: the library converts INT64 values with `parseInt`, so integers beyond ±(2^53 − 1)
 *   would be rounded. Such a value makes `append` throw an {@link EncodeError} naming the field
 *   and the value (the encoder stays usable; the event was not added). Use parquet-wasm for
 *   full 64-bit ids.
 * - timestamps: the library refuses epoch-millisecond numbers before 1970, but takes Date
 *   objects of any epoch; timestamps are handed over as Dates, so pre-1970 values are correct.
 *   The library writes only the legacy TIMESTAMP_MILLIS converted type, which DuckDB reads as
 *   a timestamp without zone; the finished file's footer is rewritten to carry the
 *   TIMESTAMP(MILLIS, isAdjustedToUTC = true) logical type too (the data pages are untouched).
 * - compression: SNAPPY, GZIP or UNCOMPRESSED (no ZSTD).
 * - data pages are written as v1 pages (the library's v2 pages are its default; v1 is what
 *   most writers emit and every reader accepts).
 */
import parquet from 'parquetjs-lite';
import thrift from 'parquetjs-lite/gen-nodejs/parquet_types.js';
import parquetUtil from 'parquetjs-lite/lib/util.js';
import { EncodeError } from './errors.js';
import type { DecodedEvent, EventSchema, FieldSpec, FileEncoder } from './types.js';

/** The page compressions parquetjs-lite can write. */
export const PARQUETJS_LITE_COMPRESSIONS = ['SNAPPY', 'GZIP', 'UNCOMPRESSED'] as const;
/** A page compression parquetjs-lite can write. */
export type ParquetjsLiteCompression = (typeof PARQUETJS_LITE_COMPRESSIONS)[number];

/** Written into each file's `created_by`. */
const CREATED_BY = 'streaming-etl (parquetjs-lite 0.8.7)';
const PARQUET_MAGIC = 'PAR1';
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
/** Bytes per row of fixed-width data, for the size estimate. */
const FIXED_WIDTH: Readonly<Record<FieldSpec['type'], number>> = {
  int: 4, long: 8, double: 8, string: 4, boolean: 1, 'timestamp-millis': 8,
};
const PARQUET_TYPES: Readonly<Record<FieldSpec['type'], string>> = {
  int: 'INT32', long: 'INT64', double: 'DOUBLE', string: 'UTF8', boolean: 'BOOLEAN', 'timestamp-millis': 'TIMESTAMP_MILLIS',
};

/** Options of {@link createParquetjsLiteEncoder}. */
export interface ParquetjsLiteOptions {
  /** Page compression. @default 'SNAPPY' */
  readonly compression?: ParquetjsLiteCompression;
}

/** Creates an encoder writing one Parquet file with parquetjs-lite. */
export function createParquetjsLiteEncoder(schema: EventSchema, options: ParquetjsLiteOptions = {}): FileEncoder {
  return new ParquetjsLiteEncoder(schema, options.compression ?? 'SNAPPY');
}

class ParquetjsLiteEncoder implements FileEncoder {
  readonly #fields: readonly FieldSpec[];
  readonly #compression: ParquetjsLiteCompression;
  readonly #rowWidth: number;
  #rows: Record<string, unknown>[] = [];
  #count = 0;
  #variableBytes = 0;
  #finished = false;

  constructor(schema: EventSchema, compression: ParquetjsLiteCompression) {
    this.#fields = schema.fields;
    this.#compression = compression;
    this.#rowWidth = schema.fields.reduce((sum, f) => sum + FIXED_WIDTH[f.type], 0);
  }

  get count(): number {
    return this.#count;
  }

  /** Uncompressed data size so far: fixed-width columns plus string characters. */
  get estimatedBytes(): number {
    return this.#count * this.#rowWidth + this.#variableBytes;
  }

  append(event: DecodedEvent): void {
    if (this.#finished) throw new EncodeError('parquetjs-lite encoder used after finish()');
    const fields = this.#fields;
    const row: Record<string, unknown> = {};
    let variableBytes = 0;
    for (let i = 0; i < fields.length; i += 1) {
      const field = fields[i] as FieldSpec;
      const value = event.values[i];
      if (value === null || value === undefined) {
        if (field.nullable !== true) throw new EncodeError(`field "${field.name}": null in a non-nullable column`, { field: field.name });
        continue; // a missing key is a null of an optional column
      }
      switch (field.type) {
        case 'long': {
          const long = value as bigint;
          if (long > MAX_SAFE || long < MIN_SAFE) {
            throw new EncodeError(
              `field "${field.name}": parquetjs-lite cannot write the long ${long} exactly (it rounds INT64 values beyond ±(2^53 - 1)); use the parquet-wasm encoder`,
              { field: field.name },
            );
          }
          row[field.name] = Number(long);
          break;
        }
        case 'timestamp-millis':
          row[field.name] = new Date(value as number);
          break;
        case 'string':
          variableBytes += (value as string).length;
          row[field.name] = value;
          break;
        default:
          row[field.name] = value;
      }
    }
    this.#rows.push(row);
    this.#count += 1;
    this.#variableBytes += variableBytes;
  }

  async finish(): Promise<Uint8Array> {
    if (this.#finished) throw new EncodeError('parquetjs-lite encoder: finish() called twice');
    this.#finished = true;
    const definition: Record<string, { type: string; optional: boolean; compression: string }> = {};
    for (const field of this.#fields) {
      definition[field.name] = { type: PARQUET_TYPES[field.type], optional: field.nullable === true, compression: this.#compression };
    }
    const chunks: Buffer[] = [];
    const sink = {
      write(chunk: Buffer, callback: (error?: unknown) => void): void {
        chunks.push(chunk);
        callback();
      },
      end(callback: (error?: unknown) => void): void {
        callback();
      },
    };
    const rows = this.#rows;
    this.#rows = [];
    try {
      const writer = await parquet.ParquetWriter.openStream(new parquet.ParquetSchema(definition), sink, {
        useDataPageV2: false,
        rowGroupSize: Math.max(rows.length, 1),
      });
      for (const row of rows) await writer.appendRow(row);
      await writer.close();
    } catch (error) {
      // The library throws strings, not Errors.
      throw new EncodeError(`parquetjs-lite could not write ${rows.length} rows: ${String(error)}`, { cause: error });
    }
    return withTimestampLogicalType(Buffer.concat(chunks));
  }
}

/**
 * Rewrites the footer (FileMetaData, at the end of the file after everything it points to) so
 * that TIMESTAMP_MILLIS columns also carry the TIMESTAMP(MILLIS, isAdjustedToUTC = true)
 * logical type, and sets `created_by`.
 */
function withTimestampLogicalType(file: Buffer): Buffer {
  const metadataLength = file.readUInt32LE(file.length - 8);
  const metadataStart = file.length - 8 - metadataLength;
  if (metadataStart < 4 || file.toString('latin1', file.length - 4) !== PARQUET_MAGIC) {
    throw new EncodeError('parquetjs-lite wrote a file without a Parquet footer');
  }
  const metadata = new thrift.FileMetaData();
  parquetUtil.decodeThrift(metadata, file, metadataStart);
  const timestampMillis = thrift.ConvertedType['TIMESTAMP_MILLIS'];
  for (const element of metadata['schema'] as Record<string, unknown>[]) {
    if (element['converted_type'] !== timestampMillis) continue;
    element['logicalType'] = new thrift.LogicalType({
      TIMESTAMP: new thrift.TimestampType({ isAdjustedToUTC: true, unit: new thrift.TimeUnit({ MILLIS: new thrift.MilliSeconds() }) }),
    });
  }
  metadata['created_by'] = CREATED_BY;
  const encoded = parquetUtil.serializeThrift(metadata);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(encoded.length, 0);
  trailer.write(PARQUET_MAGIC, 4, 'latin1');
  return Buffer.concat([file.subarray(0, metadataStart), encoded, trailer]);
}
