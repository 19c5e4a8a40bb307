/**
 * Validating the resolved properties and building the typed ProcessorConfig. Every problem is
 * collected — types, ranges, the one-source and at-least-one-sink rules, pairs that go together,
 * names, URLs, ARNs, the partition template — and thrown as one ConfigError, each naming the
 * property, the value received and where it came from.
 */
import { ConfigError } from '../../common/errors.js';
import { PROPERTY_SPECS } from '../../common/properties/index.js';
import { parseS3Location, s3OutputPrefixes } from '../../common/s3/index.js';
import type { PropertyName, PropertySpec } from '../../common/properties/index.js';
import { PartitionTemplateError } from './errors.js';
import { compilePartitionTemplate } from './partition-template.js';
import type { ResolvedProperties, ResolvedProperty } from './resolve.js';
import { propertySpec } from './sources.js';
import type {
  InitialPosition,
  KafkaCompression,
  KafkaDeliveryGuarantee,
  KafkaSecurity,
  KafkaSinkConfig,
  KafkaStartingPosition,
  KinesisSinkConfig,
  OpenSearchSinkConfig,
  ProcessorConfig,
  S3SinkConfig,
  SinkConfig,
  SourceConfig,
} from './types.js';

/** Options of buildConfig. */
export interface BuildConfigOptions {
  /**
   * The event schema's field names, when known: the partition template's fields are then checked
   * too. Without them only the template's syntax is checked (the S3 sink checks the fields when it
   * compiles the template against the loaded schema).
   */
  readonly fieldNames?: readonly string[];
}

/** The typed configuration and the notes worth logging at start-up. */
export interface BuiltConfig {
  readonly config: ProcessorConfig;
  readonly warnings: readonly string[];
}

type Typed = string | number | boolean;

const MIB = 1024 * 1024;

/**
 * Validates resolved properties and builds the configuration. Throws one ConfigError listing every
 * problem, including those found while reading the sources (`resolved.problems`).
 */
export function buildConfig(resolved: ResolvedProperties, options: BuildConfigOptions = {}): BuiltConfig {
  const problems: string[] = [...resolved.problems];
  const warnings: string[] = [...resolved.warnings];
  const typed = new Map<PropertyName, Typed>();
  for (const [name, given] of resolved.values) {
    const result = parseTyped(propertySpec(name), given.value);
    if (typeof result === 'string') problems.push(`${given.spelling}: ${result}, got "${given.value}" (from ${given.origin})`);
    else typed.set(name, result.value);
  }
  const raw = (name: PropertyName): ResolvedProperty | undefined => resolved.values.get(name);
  const str = (name: PropertyName): string | undefined => typed.get(name) as string | undefined;
  const num = (name: PropertyName): number => (typed.get(name) as number | undefined) ?? 0;
  const bool = (name: PropertyName): boolean => typed.get(name) === true;
  const problem = (name: PropertyName, expected: string): void => {
    const given = raw(name);
    if (given === undefined) problems.push(`${name}: ${expected}`);
    else if (expected.startsWith('expected')) problems.push(`${given.spelling}: ${expected}, got "${given.value}" (from ${given.origin})`);
    else problems.push(`${given.spelling}="${given.value}" (from ${given.origin}) ${expected}`);
  };
  const shown = (name: PropertyName): string => {
    const given = raw(name);
    return given === undefined ? `${name} (not set)` : `${given.spelling}="${given.value}" (from ${given.origin})`;
  };

  // --- the one source ---------------------------------------------------------------------------
  const applicationName = str('ApplicationName') ?? 'streaming-etl';
  const kinesisIn = str('InputKinesisStream');
  const kafkaTopicIn = str('InputKafkaTopic');
  const kafkaServersIn = str('InputKafkaBootstrapServers');
  let source: SourceConfig | undefined;
  if (kinesisIn !== undefined && (kafkaTopicIn !== undefined || kafkaServersIn !== undefined)) {
    const kafka = (['InputKafkaTopic', 'InputKafkaBootstrapServers'] as const).filter((name) => raw(name) !== undefined).map(shown);
    problems.push(
      `exactly one source is read, but both are set: Kinesis ${shown('InputKinesisStream')} and Kafka ${kafka.join(' and ')}; unset one of them`,
    );
  } else if (kinesisIn === undefined && kafkaTopicIn === undefined && kafkaServersIn === undefined) {
    problems.push(
      'no source: set InputKinesisStream (a Kinesis stream name or ARN), or InputKafkaTopic and InputKafkaBootstrapServers (a Kafka topic); none of them is set',
    );
  } else if (kinesisIn !== undefined) {
    const stream = parseStream('InputKinesisStream', 'InputStreamRegion', kinesisIn, str('InputStreamRegion'), problem, shown);
    const initialPosition = parseInitialPosition(str, problem, shown);
    if (stream !== undefined && initialPosition !== undefined) source = { kind: 'kinesis', ...stream, initialPosition };
    if (initialPosition !== undefined && initialPosition.type !== 'AT_TIMESTAMP' && raw('InputStreamInitialTimestamp') !== undefined) {
      warnings.push(`${shown('InputStreamInitialTimestamp')} ignored: it applies only when InputStreamInitalPosition is AT_TIMESTAMP, and ${shown('InputStreamInitalPosition')}`);
    }
  } else {
    const pair = kafkaPair('InputKafkaTopic', 'InputKafkaBootstrapServers', kafkaTopicIn, kafkaServersIn, problem);
    const startingPosition = (str('InputKafkaStartingPosition') ?? 'LATEST') as KafkaStartingPosition;
    const security = kafkaSecurity('Input', str, problem);
    if (pair !== undefined && security !== undefined) source = { kind: 'kafka', ...pair, groupId: str('InputKafkaGroupId') ?? applicationName, startingPosition, security };
  }
  if (kinesisIn === undefined) {
    for (const name of ['InputStreamRegion', 'InputStreamInitialTimestamp'] as const) {
      if (raw(name) !== undefined) warnings.push(`${shown(name)} ignored: it applies to a Kinesis source only`);
    }
  } else {
    for (const name of ['InputKafkaGroupId', 'InputKafkaStartingPosition', 'InputKafkaSecurityProtocol', 'InputKafkaSaslMechanism', 'InputKafkaSaslUsername', 'InputKafkaSaslPassword'] as const) {
      const given = raw(name);
      if (given !== undefined && given.from !== 'default') warnings.push(`${shown(name)} ignored: it applies to a Kafka source only`);
    }
  }

  // --- the sinks ----------------------------------------------------------------------------------
  const sinks: SinkConfig[] = [];
  const template = str('OutputPartitionTemplate') ?? '';
  try {
    compilePartitionTemplate(template, options.fieldNames);
  } catch (error) {
    if (!(error instanceof PartitionTemplateError)) throw error;
    problem('OutputPartitionTemplate', `does not compile: ${error.problem} (at position ${error.position})`);
  }
  const bucketIn = str('OutputBucket');
  if (bucketIn !== undefined) {
    const location = parseS3Location(bucketIn);
    if (typeof location === 'string') problem('OutputBucket', location);
    else {
      const prefixes = s3OutputPrefixes(location, str('OutputPrefix') ?? '', str('OutputErrorPrefix') ?? '');
      const s3: S3SinkConfig = {
        kind: 's3',
        bucket: location.bucket,
        prefix: prefixes.data,
        errorPrefix: prefixes.errors,
        format: typed.get('ParquetConversion') === false ? 'json' : 'parquet',
        parquetEncoder: (str('ParquetEncoder') ?? 'parquet-wasm') as S3SinkConfig['parquetEncoder'],
        parquetCompression: (str('ParquetCompression') ?? 'SNAPPY') as S3SinkConfig['parquetCompression'],
        partitionTemplate: template,
        rolloverSizeBytes: num('OutputRolloverSizeMb') * MIB,
        rolloverIntervalMs: num('OutputRolloverInterval'),
        inactivityIntervalMs: num('OutputInactivityInterval'),
      };
      if (s3.prefix === s3.errorPrefix) problem('OutputErrorPrefix', `must differ from the data prefix "${s3.prefix}", or dead letters mix with the data`);
      sinks.push(s3);
    }
  }
  const endpoint = str('OutputElasticsearchEndpoint');
  if (endpoint !== undefined) {
    if (!isHttpUrl(endpoint)) problem('OutputElasticsearchEndpoint', 'expected an http:// or https:// URL such as https://search-domain.us-east-1.es.amazonaws.com');
    else {
      const openSearch: OpenSearchSinkConfig = {
        kind: 'opensearch',
        endpoint: endpoint.replace(/\/+$/, ''),
        region: str('ElasticsearchRegion'),
        bulkFlushMaxBytes: num('ElasticsearchBulkFlushMaxSizeMb') * MIB,
        bulkFlushMaxActions: num('ElasticsearchBulkFlushMaxActions'),
        bulkFlushIntervalMs: num('ElasticsearchBulkFlushInterval'),
        indexField: str('ElasticsearchIndexField') ?? 'type',
        indexPrefix: str('ElasticsearchIndexPrefix') ?? '',
        documentIdField: str('ElasticsearchDocumentIdField') ?? 'trip_id',
      };
      const prefix = openSearch.indexPrefix;
      if (prefix !== '' && (!/^[a-z0-9][a-z0-9._-]*$/.test(prefix) || prefix.length > 200)) {
        problem('ElasticsearchIndexPrefix', 'expected the start of an OpenSearch index name: lower-case letters, digits, ".", "_" or "-", not starting with "-", "_" or ".", at most 200 characters');
      }
      if (options.fieldNames !== undefined) {
        for (const name of ['ElasticsearchIndexField', 'ElasticsearchDocumentIdField'] as const) {
          const field = name === 'ElasticsearchIndexField' ? openSearch.indexField : openSearch.documentIdField;
          if (!options.fieldNames.includes(field)) problem(name, `names no field of the event schema (${options.fieldNames.join(', ')})`);
        }
      }
      sinks.push(openSearch);
    }
  }
  const kinesisOut = str('OutputKinesisStream');
  if (kinesisOut !== undefined) {
    const stream = parseStream('OutputKinesisStream', 'OutputStreamRegion', kinesisOut, str('OutputStreamRegion'), problem, shown);
    if (stream !== undefined) sinks.push({ kind: 'kinesis', ...stream } satisfies KinesisSinkConfig);
  }
  const kafkaTopicOut = str('OutputKafkaTopic');
  const kafkaServersOut = str('OutputKafkaBootstrapServers');
  if (kafkaTopicOut !== undefined || kafkaServersOut !== undefined) {
    const pair = kafkaPair('OutputKafkaTopic', 'OutputKafkaBootstrapServers', kafkaTopicOut, kafkaServersOut, problem);
    const security = kafkaSecurity('Output', str, problem);
    const transactionalIdPrefix = str('OutputKafkaTransactionalIdPrefix') ?? applicationName;
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(transactionalIdPrefix)) {
      const expected = 'expected 1 to 200 letters, digits, ".", "_" or "-" (the transactional ids are <prefix>-<run id>-<n>)';
      problem('OutputKafkaTransactionalIdPrefix', raw('OutputKafkaTransactionalIdPrefix') ? expected : `${expected}; it defaults to ApplicationName, ${JSON.stringify(applicationName)}: set it`);
    }
    if (pair !== undefined && security !== undefined) {
      sinks.push({
        kind: 'kafka',
        ...pair,
        compression: (str('OutputKafkaCompression') ?? 'none') as KafkaCompression,
        security,
        deliveryGuarantee: (str('OutputKafkaDeliveryGuarantee') ?? 'EXACTLY_ONCE') as KafkaDeliveryGuarantee,
        transactionalIdPrefix,
        transactionTimeoutMs: num('OutputKafkaTransactionTimeout'),
      } satisfies KafkaSinkConfig);
    }
  }
  if (bool('OutputDiscarding')) sinks.push({ kind: 'discard' });
  const sinkAnchors = ['OutputBucket', 'OutputKinesisStream', 'OutputKafkaTopic', 'OutputKafkaBootstrapServers', 'OutputElasticsearchEndpoint'] as const;
  if (sinks.length === 0 && sinkAnchors.every((name) => raw(name) === undefined) && typed.has('OutputDiscarding')) {
    problems.push(
      `no sink: set at least one of OutputBucket, OutputKinesisStream, OutputKafkaTopic with OutputKafkaBootstrapServers, OutputElasticsearchEndpoint, or OutputDiscarding=true; none is set and ${shown('OutputDiscarding')}`,
    );
  }
  warnIgnoredSinkProperties(resolved, warnings);

  // --- checkpoints and operations -----------------------------------------------------------------
  const checkpointTable = str('CheckpointTable');
  if (checkpointTable !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(checkpointTable)) {
    problem('CheckpointTable', 'expected a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."');
  }

  const leaseDuration = num('LeaseDuration');
  const renew = typed.get('LeaseRenewInterval') as number | undefined;
  if (renew !== undefined && renew * 2 >= leaseDuration) {
    problem('LeaseRenewInterval', `expected under half of LeaseDuration (${leaseDuration} ms), so that one missed renewal is not fatal`);
  }
  const balance = typed.get('LeaseBalanceInterval') as number | undefined;

  if (problems.length > 0) throw new ConfigError(problems);
  const config: ProcessorConfig = {
    applicationName,
    source: source as SourceConfig,
    sinks,
    checkpointIntervalMs: num('CheckpointInterval'),
    checkpointTable,
    leaseDurationMs: leaseDuration,
    ...(renew !== undefined ? { leaseRenewIntervalMs: renew } : {}),
    ...(balance !== undefined ? { leaseBalanceIntervalMs: balance } : {}),
    maxLeasesPerWorker: num('MaxLeasesPerWorker'),
    eventSchema: str('EventSchema') ?? 'TripEvent',
    statusIntervalMs: num('StatusInterval'),
    metricsNamespace: str('MetricsNamespace') ?? 'StreamingEtl',
    healthCheckPort: num('HealthCheckPort'),
    resolved: Object.fromEntries(
      PROPERTY_SPECS.flatMap((spec) => {
        const given = resolved.values.get(spec.name);
        return given === undefined ? [] : [[spec.name, { value: given.value, from: given.from }]];
      }),
    ),
  };
  return { config, warnings };
}

/** Parses one value by its spec's type: the typed value, or what was expected. Enum values are normalised to the catalogue's spelling. */
export function parseTyped(spec: PropertySpec, value: string): { value: Typed } | string {
  switch (spec.type) {
    case 'string':
      return { value };
    case 'boolean': {
      const lower = value.toLowerCase();
      if (lower === 'true' || lower === 'false') return { value: lower === 'true' };
      return 'expected true or false';
    }
    case 'enum': {
      const found = (spec.values ?? []).find((candidate) => candidate.toLowerCase() === value.toLowerCase());
      return found === undefined ? `expected one of ${(spec.values ?? []).join(', ')}` : { value: found };
    }
    case 'integer':
    case 'number': {
      const integer = spec.type === 'integer';
      const kind = integer ? 'an integer' : 'a number';
      const range =
        spec.min !== undefined && spec.max !== undefined
          ? ` from ${spec.min} to ${spec.max}`
          : spec.min !== undefined
            ? ` >= ${spec.min}`
            : spec.max !== undefined
              ? ` <= ${spec.max}`
              : '';
      const pattern = integer ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
      const parsed = Number(value);
      if (!pattern.test(value) || !Number.isFinite(parsed) || (integer && !Number.isSafeInteger(parsed))) return `expected ${kind}${range}`;
      if ((spec.min !== undefined && parsed < spec.min) || (spec.max !== undefined && parsed > spec.max)) return `expected ${kind}${range}`;
      return { value: parsed };
    }
  }
}

type Problem = (name: PropertyName, expected: string) => void;
type Shown = (name: PropertyName) => string;

const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const STREAM_ARN = /^arn:(aws[a-z-]*):kinesis:([a-z0-9-]+):(\d{12}):stream\/([A-Za-z0-9_.-]{1,128})$/;

/** A Kinesis stream name or ARN, with the region from the ARN when none is given; a region that contradicts the ARN is a problem. */
function parseStream(
  name: PropertyName,
  regionName: PropertyName,
  value: string,
  region: string | undefined,
  problem: Problem,
  shown: Shown,
): { streamName: string; streamArn?: string; region?: string } | undefined {
  if (!value.startsWith('arn:')) {
    if (STREAM_NAME.test(value)) return { streamName: value, region };
    problem(name, 'expected a stream name (1 to 128 letters, digits, "_", "-" or ".") or an ARN such as arn:aws:kinesis:us-east-1:123456789012:stream/name');
    return undefined;
  }
  const match = STREAM_ARN.exec(value);
  if (!match) {
    problem(name, 'expected a Kinesis stream ARN such as arn:aws:kinesis:us-east-1:123456789012:stream/name');
    return undefined;
  }
  const arnRegion = match[2] as string;
  if (region !== undefined && region !== arnRegion) {
    problem(regionName, `contradicts the region ${arnRegion} of ${shown(name)}; leave it empty or make them agree`);
    return undefined;
  }
  return { streamName: match[4] as string, streamArn: value, region: arnRegion };
}

/** Where a shard without a checkpoint starts; AT_TIMESTAMP needs a valid ISO-8601 InputStreamInitialTimestamp. */
function parseInitialPosition(str: (name: PropertyName) => string | undefined, problem: Problem, shown: Shown): InitialPosition | undefined {
  const position = str('InputStreamInitalPosition') ?? 'LATEST';
  const timestamp = str('InputStreamInitialTimestamp');
  if (position !== 'AT_TIMESTAMP') return { type: position as 'TRIM_HORIZON' | 'LATEST' };
  if (timestamp === undefined) {
    problem('InputStreamInitialTimestamp', `must be set to an ISO-8601 time such as 2018-01-01T00:00:00Z when ${shown('InputStreamInitalPosition')}`);
    return undefined;
  }
  const date = parseIsoTimestamp(timestamp);
  if (date === undefined) {
    problem('InputStreamInitialTimestamp', 'expected an ISO-8601 time such as 2018-01-01T00:00:00Z or 2018-01-01T01:00:00+01:00');
    return undefined;
  }
  return { type: 'AT_TIMESTAMP', timestamp: date };
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * Parses an ISO-8601 date or date-time (`2018-01-01`, `2018-01-01T02:21:05Z`, `…+01:00`); without an
 * offset the time is UTC. Undefined for anything else, including impossible dates (February 30).
 */
export function parseIsoTimestamp(text: string): Date | undefined {
  const match = ISO_8601.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((index) => Number(match[index] ?? '0')) as [number, number, number, number, number, number];
  const millis = Number((match[7] ?? '0').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  utc.setUTCFullYear(year);
  if (utc.getUTCMonth() !== month - 1 || utc.getUTCDate() !== day) return undefined;
  const offset = match[8];
  let offsetMinutes = 0;
  if (offset !== undefined && offset.toUpperCase() !== 'Z') {
    const digits = offset.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || '0');
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (offset.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  return new Date(utc.getTime() - offsetMinutes * 60_000);
}

const SERVER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** The security of a Kafka direction (`Input` or `Output`): SCRAM needs a user name and a password; MSK IAM is not available yet. */
function kafkaSecurity(direction: 'Input' | 'Output', str: (name: PropertyName) => string | undefined, problem: Problem): KafkaSecurity | undefined {
  const protocol = str(`${direction}KafkaSecurityProtocol`) ?? 'PLAINTEXT';
  if (protocol === 'PLAINTEXT' || protocol === 'SSL') return { protocol };
  const mechanism = str(`${direction}KafkaSaslMechanism`) ?? 'SCRAM-SHA-512';
  if (mechanism === 'AWS_MSK_IAM') {
    problem(`${direction}KafkaSaslMechanism`, 'is not available in this version of streaming-etl (use SCRAM-SHA-512 with a SCRAM secret, or SSL)');
    return undefined;
  }
  const username = str(`${direction}KafkaSaslUsername`);
  const password = str(`${direction}KafkaSaslPassword`);
  if (username === undefined) problem(`${direction}KafkaSaslUsername`, `needed with ${direction}KafkaSecurityProtocol=SASL_SSL and ${mechanism}`);
  if (password === undefined) problem(`${direction}KafkaSaslPassword`, `needed with ${direction}KafkaSecurityProtocol=SASL_SSL and ${mechanism}`);
  if (username === undefined || password === undefined) return undefined;
  return { protocol: 'SASL_SSL', mechanism: mechanism as 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username, password };
}

/** A Kafka topic with its bootstrap servers: both or neither; servers are host:port, comma-separated. */
function kafkaPair(
  topicName: PropertyName,
  serversName: PropertyName,
  topic: string | undefined,
  servers: string | undefined,
  problem: Problem,
): { topic: string; bootstrapServers: string[] } | undefined {
  if (topic === undefined) {
    problem(serversName, `needs ${topicName} too, which is not set (a Kafka topic needs both)`);
    return undefined;
  }
  if (servers === undefined) {
    problem(topicName, `needs ${serversName} too, which is not set (a Kafka topic needs both)`);
    return undefined;
  }
  let valid = true;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    problem(topicName, 'expected a Kafka topic name: 1 to 249 letters, digits, ".", "_" or "-"');
    valid = false;
  }
  const list = servers.split(',').map((server) => server.trim()).filter((server) => server !== '');
  const bad = list.filter((server) => {
    const match = SERVER.exec(server);
    const port = Number(match?.[2] ?? 0);
    return !match || port < 1 || port > 65535;
  });
  if (list.length === 0 || bad.length > 0) {
    problem(serversName, `expected comma-separated host:port pairs such as broker-1:9092,broker-2:9092${bad.length > 0 ? ` (not host:port: ${bad.join(', ')})` : ''}`);
    valid = false;
  }
  return valid ? { topic, bootstrapServers: list } : undefined;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** The property that switches each optional sink on; its group's other properties do nothing without it. */
const SINK_SWITCHES: Readonly<Partial<Record<PropertySpec['group'], PropertyName>>> = {
  'S3 sink': 'OutputBucket',
  'OpenSearch sink': 'OutputElasticsearchEndpoint',
  'Kinesis sink': 'OutputKinesisStream',
  'Kafka sink': 'OutputKafkaTopic',
};

function warnIgnoredSinkProperties(resolved: ResolvedProperties, warnings: string[]): void {
  for (const [name, given] of resolved.values) {
    if (given.from === 'default') continue;
    const spec = propertySpec(name);
    const switchName = SINK_SWITCHES[spec.group];
    if (switchName === undefined || switchName === name || resolved.values.has(switchName)) continue;
    warnings.push(`${given.spelling}="${given.value}" (from ${given.origin}) ignored: ${switchName} is not set`);
  }
}
