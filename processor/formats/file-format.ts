/**
 * Chooses the file format and encoder the S3 sink writes, from configuration.
 */
import { ConfigError } from '../../common/errors.js';
import { JSON_LINES_CONTENT_TYPE, createJsonLinesEncoder } from './json-lines.js';
import { PARQUET_COMPRESSIONS, createParquetWasmEncoder, loadParquetWasm } from './parquet-wasm.js';
import type { ParquetCompression } from './parquet-wasm.js';
import { PARQUETJS_LITE_COMPRESSIONS, createParquetjsLiteEncoder } from './parquetjs-lite.js';
import type { ParquetjsLiteCompression } from './parquetjs-lite.js';
import type { EventSchema, FileFormat } from './types.js';

/** The output formats. */
export const FILE_FORMAT_NAMES = ['parquet', 'json'] as const;
/** An output format. */
export type FileFormatName = (typeof FILE_FORMAT_NAMES)[number];
/** The Parquet encoders; the first is the default (the fastest that passes the read-back tests). */
export const PARQUET_ENCODERS = ['parquet-wasm', 'parquetjs-lite'] as const;
/** A Parquet encoder. */
export type ParquetEncoderName = (typeof PARQUET_ENCODERS)[number];

/** Content-Type of Parquet objects (IANA-registered). */
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/** Options of {@link createFileFormat}. */
export interface FileFormatOptions {
  /** The output format. @default 'parquet' */
  readonly format?: FileFormatName;
  /** Which library writes Parquet. @default 'parquet-wasm' */
  readonly parquetEncoder?: ParquetEncoderName;
  /**
   * Parquet page compression (parquetjs-lite has no ZSTD). JSON lines are written uncompressed
   * whatever this says. @default 'SNAPPY'
   */
  readonly compression?: ParquetCompression;
}

/**
 * The file format for the options. Async because the parquet-wasm WebAssembly module is
 * loaded (once per process) here, not on the first file. Throws a {@link ConfigError} naming
 * each invalid option and its value.
 */
export async function createFileFormat(schema: EventSchema, options: FileFormatOptions = {}): Promise<FileFormat> {
  const format = options.format ?? 'parquet';
  const encoder = options.parquetEncoder ?? 'parquet-wasm';
  const compression = options.compression ?? 'SNAPPY';
  const problems: string[] = [];
  if (!(FILE_FORMAT_NAMES as readonly string[]).includes(format)) {
    problems.push(`format: expected one of ${FILE_FORMAT_NAMES.join(', ')}, got ${JSON.stringify(format)}`);
  }
  if (!(PARQUET_ENCODERS as readonly string[]).includes(encoder)) {
    problems.push(`parquetEncoder: expected one of ${PARQUET_ENCODERS.join(', ')}, got ${JSON.stringify(encoder)}`);
  }
  if (!(PARQUET_COMPRESSIONS as readonly string[]).includes(compression)) {
    problems.push(`compression: expected one of ${PARQUET_COMPRESSIONS.join(', ')}, got ${JSON.stringify(compression)}`);
  } else if (format === 'parquet' && encoder === 'parquetjs-lite' && !(PARQUETJS_LITE_COMPRESSIONS as readonly string[]).includes(compression)) {
    problems.push(`compression: parquetjs-lite writes ${PARQUETJS_LITE_COMPRESSIONS.join(', ')} only, got ${JSON.stringify(compression)}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  if (format === 'json') {
    return { name: 'json', extension: '.jsonl', contentType: JSON_LINES_CONTENT_TYPE, createEncoder: () => createJsonLinesEncoder(schema) };
  }
  if (encoder === 'parquetjs-lite') {
    const liteCompression = compression as ParquetjsLiteCompression;
    return {
      name: 'parquet',
      extension: '.parquet',
      contentType: PARQUET_CONTENT_TYPE,
      createEncoder: () => createParquetjsLiteEncoder(schema, { compression: liteCompression }),
    };
  }
  const wasm = await loadParquetWasm();
  return {
    name: 'parquet',
    extension: '.parquet',
    contentType: PARQUET_CONTENT_TYPE,
    createEncoder: () => createParquetWasmEncoder(schema, wasm, { compression }),
  };
}
