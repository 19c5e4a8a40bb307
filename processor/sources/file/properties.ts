/**
 * The file source's runtime property (`InputFile`), its typed configuration, and how it is
 * created. Loaded by the CDK stack and `--help` through the catalogue: no SDK import here (`create`
 * imports the source when called).
 */
import { statSync } from 'node:fs';
import type { PropertySpec } from '../../../common/properties/index.js';
import type { PropertyNameOf, SourceConnector } from '../../connector.js';

/** The file source. */
export interface FileSourceConfig {
  readonly kind: 'file';
  /** A local file or directory, or `s3://bucket/prefix`. */
  readonly input: string;
}

const PROPERTIES = [
  {
    name: 'InputFile',
    group: 'Source',
    type: 'string',
    description:
      'A bounded input of JSON-lines files (.json, .jsonl, .ndjson, each optionally .gz): a local file or directory, or s3://bucket/prefix. Each file is a partition with its own lease and checkpoint; the processor exits 0 once every file is read and checkpointed (exclusive with InputKinesisStream and InputKafkaTopic).',
  },
] as const satisfies readonly PropertySpec[];

type Name = (typeof PROPERTIES)[number]['name'];

const EXTENSIONS = /\.(json|jsonl|ndjson)(\.gz)?$/i;

/** The file source connector. */
export const fileSource: SourceConnector<FileSourceConfig, Name> = {
  kind: 'file',
  properties: PROPERTIES,
  switches: ['InputFile'],
  label: 'file',
  hint: 'InputFile (a local path or s3://bucket/prefix of JSON-lines files)',
  onlyForThisSource: [],
  build(values) {
    const input = values.str('InputFile');
    if (input === undefined) return undefined;
    if (input.trim() === '') {
      values.problem('InputFile', 'expected a local path or s3://bucket/prefix');
      return undefined;
    }
    if (/^s3:/i.test(input)) {
      if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(input)) {
        values.problem('InputFile', 'expected s3://bucket/prefix with a valid bucket name');
        return undefined;
      }
      return { kind: 'file', input };
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
      values.problem('InputFile', 'expected a local path or s3://bucket/prefix (no other URL scheme is read)');
      return undefined;
    }
    let info;
    try {
      info = statSync(input);
    } catch {
      values.problem('InputFile', 'does not exist (expected a local file or directory, or s3://bucket/prefix)');
      return undefined;
    }
    if (info.isFile() && !EXTENSIONS.test(input)) {
      values.problem('InputFile', 'is not a JSON-lines file: expected a name ending in .json, .jsonl or .ndjson, optionally with .gz');
      return undefined;
    }
    if (!info.isFile() && !info.isDirectory()) {
      values.problem('InputFile', 'is neither a file nor a directory');
      return undefined;
    }
    return { kind: 'file', input };
  },
  async create(config, context) {
    const { FileSource } = await import('./file-source.js');
    const s3 = config.input.startsWith('s3://') ? (await import('../../sinks/s3/s3-sink.js')).createS3Client() : undefined;
    return new FileSource({
      input: config.input,
      log: context.log.child('source'),
      leases: context.leases,
      timings: context.timings,
      ...(s3 ? { s3 } : {}),
    });
  },
};

/** The names of the file source's properties. */
export type FileSourcePropertyName = PropertyNameOf<typeof fileSource>;
