/**
 * The S3 sink's runtime properties, its typed configuration, and how it is created. Loaded by the
 * CDK stack and `--help` through the catalogue: no SDK or Parquet import here (`create` imports the
 * sink and the file format when called).
 */
import type { PropertySpec } from '../../../common/properties/index.js';
import { describeError } from '../../../common/errors.js';
import { parseS3Location, s3OutputPrefixes } from '../../../common/s3/index.js';
import type { PropertyNameOf, SinkConnector } from '../../connector.js';
import { PartitionTemplateError } from '../../config/errors.js';
import { compilePartitionTemplate } from '../../config/partition-template.js';

/** The default partition template: the original's `pickup_location=%03d/year=%04d/month=%02d/`, from event time. */
export const DEFAULT_PARTITION_TEMPLATE =
  'pickup_location={pickup_location_id:%03d}/year={pickup_datetime:yyyy}/month={pickup_datetime:MM}/';

/** The S3 sink. */
export interface S3SinkConfig {
  readonly kind: 's3';
  readonly bucket: string;
  /** The key prefix for data: the path of OutputBucket (if any) joined with OutputPrefix; '' or ending in '/'. */
  readonly prefix: string;
  /** The key prefix for dead-letter output: the path of OutputBucket joined with OutputErrorPrefix; '' or ending in '/'. */
  readonly errorPrefix: string;
  readonly format: 'parquet' | 'json';
  readonly parquetEncoder: 'native' | 'parquet-wasm' | 'parquetjs-lite';
  readonly parquetCompression: 'SNAPPY' | 'GZIP' | 'ZSTD' | 'UNCOMPRESSED';
  readonly partitionTemplate: string;
  readonly rolloverSizeBytes: number;
  readonly rolloverIntervalMs: number;
  readonly inactivityIntervalMs: number;
}

const PROPERTIES = [
  { name: 'OutputBucket', group: 'S3 sink', type: 'string', description: 'S3 bucket to write to: a bucket name or an s3://bucket/prefix/ path.' },
  { name: 'OutputPrefix', group: 'S3 sink', type: 'string', default: 'parquet/', description: 'Key prefix for the output objects, under the bucket (and the path of OutputBucket, if any).' },
  { name: 'ParquetConversion', group: 'S3 sink', type: 'boolean', default: 'true', description: 'Write Parquet (true) or JSON lines (false).' },
  {
    name: 'ParquetEncoder',
    group: 'S3 sink',
    type: 'enum',
    values: ['native', 'parquet-wasm', 'parquetjs-lite'],
    default: 'native',
    description: 'The Parquet encoder: native (the Rust addon: decodes and writes without JS objects; the fastest; parquet-wasm where the addon is not built), parquet-wasm or parquetjs-lite.',
  },
  { name: 'ParquetCompression', group: 'S3 sink', type: 'enum', values: ['SNAPPY', 'GZIP', 'ZSTD', 'UNCOMPRESSED'], default: 'SNAPPY', description: 'Compression codec of the Parquet column chunks.' },
  { name: 'OutputPartitionTemplate', group: 'S3 sink', type: 'string', default: DEFAULT_PARTITION_TEMPLATE, description: 'Hive-style partition path from event fields: {field}, {field:%03d}, {timefield:yyyy|MM|dd|HH}, {job_start}.' },
  { name: 'OutputErrorPrefix', group: 'S3 sink', type: 'string', default: 'errors/', description: 'Key prefix (under the bucket path) of the dead-letter output for records that fail decoding or validation.' },
  { name: 'OutputRolloverSizeMb', group: 'S3 sink', type: 'integer', default: '128', min: 1, max: 5000, description: 'Roll a part file when it reaches this size (MiB).' },
  { name: 'OutputRolloverInterval', group: 'S3 sink', type: 'integer', default: '900000', min: 1000, description: 'Roll a part file at the next checkpoint once it has been open this long (ms).' },
  { name: 'OutputInactivityInterval', group: 'S3 sink', type: 'integer', default: '60000', min: 1000, description: 'Roll a part file at the next checkpoint once no record has been added for this long (ms).' },
] as const satisfies readonly PropertySpec[];

type Name = (typeof PROPERTIES)[number]['name'];

const MIB = 1024 * 1024;

/** The S3 sink connector (exactly once). */
export const s3Sink: SinkConnector<S3SinkConfig, Name> = {
  kind: 's3',
  properties: PROPERTIES,
  switches: ['OutputBucket'],
  hint: { text: 'OutputBucket', place: 1 },
  check(values, { fieldNames }) {
    // The template is checked even without a bucket (the default must compile too).
    try {
      compilePartitionTemplate(values.str('OutputPartitionTemplate') ?? '', fieldNames);
    } catch (error) {
      if (!(error instanceof PartitionTemplateError)) throw error;
      values.problem('OutputPartitionTemplate', `does not compile: ${error.problem} (at position ${error.position})`);
    }
  },
  build(values) {
    const location = parseS3Location(values.str('OutputBucket') as string);
    if (typeof location === 'string') {
      values.problem('OutputBucket', location);
      return undefined;
    }
    const prefixes = s3OutputPrefixes(location, values.str('OutputPrefix') ?? '', values.str('OutputErrorPrefix') ?? '');
    const s3: S3SinkConfig = {
      kind: 's3',
      bucket: location.bucket,
      prefix: prefixes.data,
      errorPrefix: prefixes.errors,
      format: values.typed('ParquetConversion') === false ? 'json' : 'parquet',
      parquetEncoder: (values.str('ParquetEncoder') ?? 'native') as S3SinkConfig['parquetEncoder'],
      parquetCompression: (values.str('ParquetCompression') ?? 'SNAPPY') as S3SinkConfig['parquetCompression'],
      partitionTemplate: values.str('OutputPartitionTemplate') ?? '',
      rolloverSizeBytes: values.num('OutputRolloverSizeMb') * MIB,
      rolloverIntervalMs: values.num('OutputRolloverInterval'),
      inactivityIntervalMs: values.num('OutputInactivityInterval'),
    };
    if (s3.prefix === s3.errorPrefix) values.problem('OutputErrorPrefix', `must differ from the data prefix "${s3.prefix}", or dead letters mix with the data`);
    return s3;
  },
  async create(config, { schema, jobStartMs, log }) {
    let parquetEncoder = config.parquetEncoder;
    if (config.format === 'parquet' && parquetEncoder === 'native') {
      const [{ loadNative }, { NativeParquetS3Sink }] = await Promise.all([import('../../formats/native.js'), import('./native-parquet-sink.js')]);
      const native = loadNative();
      if (!(native instanceof Error)) {
        log.info('S3 sink: Parquet written by the native addon', { compression: config.parquetCompression });
        return new NativeParquetS3Sink({ config, schema, native, compression: config.parquetCompression, jobStartMs });
      }
      log.warn('S3 sink: the native Parquet addon is not available; writing Parquet with parquet-wasm', { error: describeError(native) });
      parquetEncoder = 'parquet-wasm';
    }
    const [{ createFileFormat }, { S3Sink }] = await Promise.all([import('../../formats/index.js'), import('./s3-sink.js')]);
    const format = await createFileFormat(schema, { format: config.format, parquetEncoder: parquetEncoder === 'native' ? 'parquet-wasm' : parquetEncoder, compression: config.parquetCompression });
    return new S3Sink({ config, schema, format, jobStartMs });
  },
};

/** The names of the S3 sink's properties. */
export type S3SinkPropertyName = PropertyNameOf<typeof s3Sink>;
