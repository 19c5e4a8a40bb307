/**
 * The replay CLI's flags, and their translation into ReplayOptions. amazon-kinesis-replay's
 * single-dash spellings are accepted (`-streamName`, `-speedup`, `-timestampAttributeName`,
 * `-seek`, `-statisticsFrequency`, `-bucketName`, `-objectPrefix`, `-bucketRegion`,
 * `-streamRegion`); `-noWatermark` and `-watermarkFrequency` are accepted and ignored (no
 * watermark events are sent). A bad value is a UsageError naming the flag and the value.
 */
import { UsageError } from '../common/errors.js';
import type { FlagSpec, ParsedFlags } from '../common/cli.js';
import { KAFKA_COMPRESSION_NAMES, type KafkaCompressionName } from '../common/kafka/compression.js';
import { REPLAY_DEFAULTS } from './constants.js';
import type { KafkaReplayTarget } from './kafka-writer.js';
import { parseTimestampValue } from './input/events.js';
import type { InputFormat, ReplayOptions } from './types.js';

/** The flags of etl-replay. */
export const REPLAY_FLAGS: readonly FlagSpec[] = [
  { name: 'input', aliases: ['-input'], placeholder: 'path | s3://bucket/prefix', description: 'A file (CSV or JSON lines; plain, gzip or LZ4 frame), a directory of them, or every object under an S3 prefix (key order).' },
  { name: 'bucket-name', aliases: ['-bucketName'], placeholder: 'bucket', description: 'S3 input: the bucket (with --object-prefix, the same as --input s3://bucket/prefix).' },
  { name: 'object-prefix', aliases: ['-objectPrefix'], placeholder: 'prefix', description: 'S3 input: the key prefix.', default: '(the whole bucket)' },
  { name: 'bucket-region', aliases: ['-bucketRegion'], placeholder: 'region', description: 'The region of the input bucket.', default: 'the SDK chain' },
  { name: 'stream-name', aliases: ['-streamName'], placeholder: 'name | arn', description: 'The Kinesis stream to write to (name or ARN).' },
  { name: 'kafka-bootstrap-servers', placeholder: 'host:port,…', description: 'Write to Kafka instead of Kinesis: the brokers (with --topic).' },
  { name: 'topic', placeholder: 'topic', description: 'The Kafka topic to write to (with --kafka-bootstrap-servers); keys are the trip ids.' },
  { name: 'kafka-compression', placeholder: 'none|gzip|snappy|lz4|zstd', description: 'Compression of the batches written to Kafka.', default: 'none' },
  { name: 'region', aliases: ['-streamRegion', '-region'], placeholder: 'region', description: 'The region of the stream.', default: 'the SDK chain (AWS_REGION)' },
  { name: 'endpoint', aliases: ['-endpoint'], placeholder: 'url', description: 'The Kinesis endpoint.', default: 'AWS_ENDPOINT_URL_KINESIS, else AWS' },
  { name: 'speedup', aliases: ['-speedup'], placeholder: 'factor', description: 'How many times faster than real time to replay.', default: String(REPLAY_DEFAULTS.speedup) },
  { name: 'timestamp-attribute', aliases: ['-timestampAttributeName'], placeholder: 'attribute', description: 'The event attribute that paces the replay.', default: REPLAY_DEFAULTS.timestampAttribute },
  { name: 'seek', aliases: ['-seek'], placeholder: 'ISO time', description: 'Skip events before this time (UTC unless an offset is given).' },
  { name: 'statistics-frequency', aliases: ['-statisticsFrequency'], placeholder: 'ms', description: 'Log statistics this often; 0 for never.', default: String(REPLAY_DEFAULTS.statisticsFrequencyMs) },
  { name: 'format', placeholder: 'auto|csv|jsonl', description: 'The input format.', default: 'auto (by extension, then content)' },
  { name: 'reorder-window', placeholder: 'events', description: 'Events held in a reorder buffer to send input not sorted by time in order; 0 for input order.', default: String(REPLAY_DEFAULTS.reorderWindow) },
  { name: 'max-events', placeholder: 'n', description: 'Stop after this many events (after --seek).' },
  { name: 'max-in-flight', placeholder: 'n', description: 'PutRecords requests in flight at once.', default: String(REPLAY_DEFAULTS.maxInFlight) },
  { name: 'aggregate', boolean: true, description: 'Send KPL-aggregated records: the user records of one shard packed into each Kinesis record, each keeping its own partition key (as the Kinesis Producer Library does).' },
  { name: 'aggregate-max-bytes', placeholder: 'bytes', description: 'With --aggregate: the largest aggregate (data + partition key), 1024 to 1048576.', default: String(REPLAY_DEFAULTS.aggregateMaxBytes) },
  { name: 'strict', boolean: true, description: 'Stop at the first invalid row instead of skipping, logging and counting it.' },
  { name: 'no-progress', boolean: true, description: 'No progress bar, even on a terminal.' },
  { name: 'no-watermark', boolean: true, aliases: ['-noWatermark'], description: 'Accepted for compatibility; no watermark events are ever sent.' },
  { name: 'watermark-frequency', aliases: ['-watermarkFrequency'], placeholder: 'ms', description: 'Accepted for compatibility and ignored.' },
  { name: 'help', boolean: true, aliases: ['-h', '-help'], description: 'Show this help.' },
];

function number(flags: ParsedFlags, name: string, check: (n: number) => boolean, what: string): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const value = raw.trim() === '' ? NaN : Number(raw);
  if (!check(value)) throw new UsageError(`flag --${name} needs ${what}, got "${raw}"`);
  return value;
}

/** The Kafka destination from --kafka-bootstrap-servers, --topic and --kafka-compression, if given. */
function kafkaTarget(flags: ParsedFlags): KafkaReplayTarget | undefined {
  const servers = flags.get('kafka-bootstrap-servers');
  const topic = flags.get('topic');
  const compression = flags.get('kafka-compression');
  if (servers === undefined && topic === undefined) {
    if (compression !== undefined) throw new UsageError('flag --kafka-compression needs --kafka-bootstrap-servers and --topic');
    return undefined;
  }
  if (servers === undefined || servers.trim() === '') throw new UsageError('flag --topic needs --kafka-bootstrap-servers');
  if (topic === undefined || !/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new UsageError(`flag --topic needs a Kafka topic name (1 to 249 letters, digits, ".", "_" or "-"), got "${topic ?? ''}"`);
  const list = servers.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = list.filter((s) => !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s));
  if (list.length === 0 || bad.length > 0) throw new UsageError(`flag --kafka-bootstrap-servers needs host:port pairs such as broker-1:9092,broker-2:9092, got "${servers}"`);
  if (compression !== undefined && !(KAFKA_COMPRESSION_NAMES as readonly string[]).includes(compression)) {
    throw new UsageError(`flag --kafka-compression needs one of ${KAFKA_COMPRESSION_NAMES.join(', ')}, got "${compression}"`);
  }
  return { bootstrapServers: list, topic, ...(compression !== undefined ? { compression: compression as KafkaCompressionName } : {}) };
}

/** Turns parsed flags into replay options (without the run-time parts: logger, clients, signal). */
export function optionsFromFlags(flags: ParsedFlags): ReplayOptions {
  const bucket = flags.get('bucket-name');
  const prefix = flags.get('object-prefix');
  let input = flags.get('input');
  if (input !== undefined && (bucket !== undefined || prefix !== undefined)) {
    throw new UsageError('give either --input or --bucket-name/--object-prefix (-bucketName/-objectPrefix), not both');
  }
  if (input === undefined && bucket !== undefined) input = `s3://${bucket}/${(prefix ?? '').replace(/^\/+/, '')}`;
  if (input === undefined && prefix !== undefined) throw new UsageError('flag --object-prefix (-objectPrefix) needs --bucket-name (-bucketName)');
  if (input === undefined || input === '') throw new UsageError('flag --input (or --bucket-name) is required');
  const streamName = flags.get('stream-name');
  const kafka = kafkaTarget(flags);
  if (kafka !== undefined && streamName !== undefined) throw new UsageError('give either --stream-name (Kinesis) or --kafka-bootstrap-servers with --topic (Kafka), not both');
  if (kafka === undefined && (streamName === undefined || streamName === '')) throw new UsageError('flag --stream-name (-streamName) is required, or --kafka-bootstrap-servers with --topic');
  if (kafka !== undefined && flags.get('aggregate') === 'true') throw new UsageError('flag --aggregate (KPL aggregation) applies to Kinesis only, not to a Kafka topic');
  const format = flags.get('format');
  if (format !== undefined && !['auto', 'csv', 'jsonl'].includes(format)) throw new UsageError(`flag --format needs auto, csv or jsonl, got "${format}"`);
  const seekRaw = flags.get('seek');
  let seek: Date | undefined;
  if (seekRaw !== undefined) {
    const ms = parseTimestampValue(seekRaw);
    if (ms === undefined) throw new UsageError(`flag --seek needs an ISO-8601 time like 2018-01-01T06:00:00Z, got "${seekRaw}"`);
    seek = new Date(ms);
  }
  const endpoint = flags.get('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/\S+$/.test(endpoint)) throw new UsageError(`flag --endpoint needs an http(s) URL, got "${endpoint}"`);
  number(flags, 'watermark-frequency', (n) => Number.isFinite(n) && n >= 0, 'a number of ms');
  const attribute = flags.get('timestamp-attribute');
  if (attribute !== undefined && attribute.trim() === '') throw new UsageError('flag --timestamp-attribute needs an attribute name, got ""');
  const options: ReplayOptions = {
    input,
    streamName,
    kafka,
    endpoint,
    region: flags.get('region'),
    bucketRegion: flags.get('bucket-region'),
    speedup: number(flags, 'speedup', (n) => n > 0, 'a number > 0'),
    timestampAttribute: attribute,
    seek,
    statisticsFrequencyMs: number(flags, 'statistics-frequency', (n) => Number.isInteger(n) && n >= 0, 'an integer number of ms ≥ 0'),
    format: format as InputFormat | undefined,
    reorderWindow: number(flags, 'reorder-window', (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0'),
    maxEvents: number(flags, 'max-events', (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0'),
    maxInFlight: number(flags, 'max-in-flight', (n) => Number.isInteger(n) && n >= 1, 'an integer ≥ 1'),
    aggregate: flags.get('aggregate') === 'true' ? true : undefined,
    aggregateMaxBytes: number(flags, 'aggregate-max-bytes', (n) => Number.isInteger(n) && n >= 1024 && n <= 1024 * 1024, 'an integer from 1024 to 1048576'),
    strict: flags.get('strict') === 'true',
    progress: flags.get('no-progress') === 'true' ? false : 'auto',
  };
  // Drop the unset members so replay()'s defaults apply.
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as unknown as ReplayOptions;
}
