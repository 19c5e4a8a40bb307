/** Event schemas, decoding/validation of JSON events, and the file formats the S3 sink writes. */
export { FIELD_TYPES } from './types.js';
export type { DecodeResult, DecodedEvent, EventSchema, EventValue, FieldSpec, FieldType, FileEncoder, FileFormat } from './types.js';
export { EncodeError, SchemaError } from './errors.js';
export { BUILT_IN_SCHEMAS, loadSchema, parseSchema } from './schema.js';
export { createDecoder, parseIsoTimestamp } from './decode.js';
export type { Decoder } from './decode.js';
export { FILE_FORMAT_NAMES, PARQUET_CONTENT_TYPE, PARQUET_ENCODERS, createFileFormat } from './file-format.js';
export type { FileFormatName, FileFormatOptions, ParquetEncoderName } from './file-format.js';
export { PARQUET_COMPRESSIONS, createParquetWasmEncoder, loadParquetWasm } from './parquet-wasm.js';
export type { ParquetCompression, ParquetWasmOptions } from './parquet-wasm.js';
export { PARQUETJS_LITE_COMPRESSIONS, createParquetjsLiteEncoder } from './parquetjs-lite.js';
export type { ParquetjsLiteCompression, ParquetjsLiteOptions } from './parquetjs-lite.js';
export { JSON_LINES_CONTENT_TYPE, createJsonLinesEncoder } from './json-lines.js';
