/**
 * Every runtime property of the processor: its name (the original Flink application's names, so
 * existing deployments carry over), its type, its default and what it is for. This is data, shared
 * by the processor's property reader (`processor/config`) and by the CDK stack (`lib/`), which turns
 * each entry into a CloudFormation parameter. Nothing here imports the processor or CDK.
 */

/** The kinds of value a property takes. */
export const PROPERTY_TYPES = ['string', 'integer', 'number', 'boolean', 'enum'] as const;
/** A property's value type. */
export type PropertyType = (typeof PROPERTY_TYPES)[number];

/** One runtime property. */
export interface PropertySpec {
  /** The property name as written in the environment, the properties file and the CLI flag (`--Name`). */
  readonly name: string;
  /** What it is for, in a sentence (used in `--help`, the README and the CloudFormation parameter). */
  readonly description: string;
  /** The value type; numbers and booleans arrive as strings and are parsed. */
  readonly type: PropertyType;
  /** The default, as a string in the same form a user would write it; undefined means unset. */
  readonly default?: string;
  /** For `enum`: the accepted values (compared case-insensitively, normalised to this spelling). */
  readonly values?: readonly string[];
  /** For `integer`/`number`: the smallest accepted value. */
  readonly min?: number;
  /** For `integer`/`number`: the largest accepted value. */
  readonly max?: number;
  /** Other spellings accepted for the same property (e.g. the corrected spelling of a typo). */
  readonly aliases?: readonly string[];
  /** The group it belongs to, for help output and the CloudFormation parameter groups. */
  readonly group: 'Source' | 'S3 sink' | 'OpenSearch sink' | 'Kinesis sink' | 'Kafka sink' | 'Discard sink' | 'Checkpoints' | 'Operations';
}

/** The default partition template: the original's `pickup_location=%03d/year=%04d/month=%02d/`, from event time. */
export const DEFAULT_PARTITION_TEMPLATE =
  'pickup_location={pickup_location_id:%03d}/year={pickup_datetime:yyyy}/month={pickup_datetime:MM}/';

/** The catalogue, in the order help output and the CloudFormation parameters list them. */
export const PROPERTY_SPECS = [
  // --- Source: exactly one of Kinesis or Kafka ---------------------------------------------
  { name: 'InputKinesisStream', group: 'Source', type: 'string', description: 'Name or ARN of the Kinesis data stream to read (exclusive with InputKafkaTopic).' },
  { name: 'InputStreamRegion', group: 'Source', type: 'string', description: 'Region of the input Kinesis stream; defaults to the region of the SDK chain (AWS_REGION).' },
  {
    name: 'InputStreamInitalPosition',
    aliases: ['InputStreamInitialPosition'],
    group: 'Source',
    type: 'enum',
    values: ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'],
    default: 'LATEST',
    description: 'Where to start reading a shard that has no checkpoint yet (the original spelling, InputStreamInitalPosition, and the corrected one are both accepted).',
  },
  { name: 'InputStreamInitialTimestamp', group: 'Source', type: 'string', description: 'ISO-8601 time to start from when InputStreamInitalPosition is AT_TIMESTAMP.' },
  { name: 'InputKafkaBootstrapServers', group: 'Source', type: 'string', description: 'Comma-separated Kafka bootstrap servers of the input topic.' },
  { name: 'InputKafkaTopic', group: 'Source', type: 'string', description: 'Kafka topic to read (exclusive with InputKinesisStream).' },
  { name: 'InputKafkaGroupId', group: 'Source', type: 'string', description: 'Kafka consumer group id; defaults to ApplicationName.' },
  {
    name: 'InputKafkaStartingPosition',
    group: 'Source',
    type: 'enum',
    values: ['EARLIEST', 'LATEST'],
    default: 'LATEST',
    description: 'Where to start reading a Kafka partition that has no checkpoint and no committed group offset.',
  },
  { name: 'InputKafkaSecurityProtocol', group: 'Source', type: 'enum', values: ['PLAINTEXT', 'SSL', 'SASL_SSL'], default: 'PLAINTEXT', description: 'How to connect to the input brokers: PLAINTEXT, SSL (TLS), or SASL_SSL (TLS with InputKafkaSaslMechanism).' },
  { name: 'InputKafkaSaslMechanism', group: 'Source', type: 'enum', values: ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'AWS_MSK_IAM'], default: 'SCRAM-SHA-512', description: 'The SASL mechanism with SASL_SSL (AWS_MSK_IAM is not available yet).' },
  { name: 'InputKafkaSaslUsername', group: 'Source', type: 'string', description: 'SCRAM user name of the input brokers.' },
  { name: 'InputKafkaSaslPassword', group: 'Source', type: 'string', description: 'SCRAM password of the input brokers (pass it through the environment or a SecureString parameter).' },
  // --- S3 sink -------------------------------------------------------------------------------
  { name: 'OutputBucket', group: 'S3 sink', type: 'string', description: 'S3 bucket to write to: a bucket name or an s3://bucket/prefix/ path.' },
  { name: 'OutputPrefix', group: 'S3 sink', type: 'string', default: 'parquet/', description: 'Key prefix for the output objects, under the bucket (and the path of OutputBucket, if any).' },
  { name: 'ParquetConversion', group: 'S3 sink', type: 'boolean', default: 'true', description: 'Write Parquet (true) or JSON lines (false).' },
  {
    name: 'ParquetEncoder',
    group: 'S3 sink',
    type: 'enum',
    values: ['parquet-wasm', 'parquetjs-lite'],
    default: 'parquet-wasm',
    description: 'The Parquet encoder: parquet-wasm (fastest, the default) or parquetjs-lite.',
  },
  { name: 'ParquetCompression', group: 'S3 sink', type: 'enum', values: ['SNAPPY', 'GZIP', 'ZSTD', 'UNCOMPRESSED'], default: 'SNAPPY', description: 'Compression codec of the Parquet column chunks.' },
  { name: 'OutputPartitionTemplate', group: 'S3 sink', type: 'string', default: DEFAULT_PARTITION_TEMPLATE, description: 'Hive-style partition path from event fields: {field}, {field:%03d}, {timefield:yyyy|MM|dd|HH}, {job_start}.' },
  { name: 'OutputErrorPrefix', group: 'S3 sink', type: 'string', default: 'errors/', description: 'Key prefix (under the bucket path) of the dead-letter output for records that fail decoding or validation.' },
  { name: 'OutputRolloverSizeMb', group: 'S3 sink', type: 'integer', default: '128', min: 1, max: 5000, description: 'Roll a part file when it reaches this size (MiB).' },
  { name: 'OutputRolloverInterval', group: 'S3 sink', type: 'integer', default: '900000', min: 1000, description: 'Roll a part file at the next checkpoint once it has been open this long (ms).' },
  { name: 'OutputInactivityInterval', group: 'S3 sink', type: 'integer', default: '60000', min: 1000, description: 'Roll a part file at the next checkpoint once no record has been added for this long (ms).' },
  // --- OpenSearch sink -----------------------------------------------------------------------
  { name: 'OutputElasticsearchEndpoint', group: 'OpenSearch sink', type: 'string', description: 'OpenSearch endpoint URL; the index comes from an event field (the type) and the document id from another (the trip id). Amazon OpenSearch Service endpoints (*.es.amazonaws.com, *.aoss.amazonaws.com) are SigV4-signed.' },
  { name: 'ElasticsearchRegion', group: 'OpenSearch sink', type: 'string', description: 'Region of the OpenSearch domain, for SigV4 signing.' },
  { name: 'ElasticsearchBulkFlushMaxSizeMb', group: 'OpenSearch sink', type: 'integer', default: '4', min: 1, max: 100, description: 'Flush a bulk request at this size (MiB).' },
  { name: 'ElasticsearchBulkFlushMaxActions', group: 'OpenSearch sink', type: 'integer', default: '10000', min: 1, description: 'Flush a bulk request at this many actions.' },
  { name: 'ElasticsearchBulkFlushInterval', group: 'OpenSearch sink', type: 'integer', default: '60000', min: 1, description: 'Flush a bulk request after this long (ms).' },
  { name: 'ElasticsearchIndexField', group: 'OpenSearch sink', type: 'string', default: 'type', description: 'Event field whose value names the index of each document (after ElasticsearchIndexPrefix).' },
  { name: 'ElasticsearchIndexPrefix', group: 'OpenSearch sink', type: 'string', description: 'Prefix of every index name; when set, the index template matches <prefix>*.' },
  { name: 'ElasticsearchDocumentIdField', group: 'OpenSearch sink', type: 'string', default: 'trip_id', description: 'Event field whose value is the document id (a replayed event updates the same document).' },
  // --- Kinesis sink --------------------------------------------------------------------------
  { name: 'OutputKinesisStream', group: 'Kinesis sink', type: 'string', description: 'Name or ARN of a Kinesis stream to copy valid events to (at-least-once).' },
  { name: 'OutputStreamRegion', group: 'Kinesis sink', type: 'string', description: 'Region of the output Kinesis stream; defaults to the SDK chain.' },
  // --- Kafka sink ----------------------------------------------------------------------------
  { name: 'OutputKafkaBootstrapServers', group: 'Kafka sink', type: 'string', description: 'Comma-separated Kafka bootstrap servers of the output topic.' },
  { name: 'OutputKafkaTopic', group: 'Kafka sink', type: 'string', description: 'Kafka topic to write valid events to (key: the event id, value: the event JSON; exactly once for read_committed readers by default, see OutputKafkaDeliveryGuarantee and the guarantees).' },
  { name: 'OutputKafkaCompression', group: 'Kafka sink', type: 'enum', values: ['none', 'gzip', 'snappy', 'lz4', 'zstd'], default: 'none', description: 'Compression of the record batches written to OutputKafkaTopic (lz4 recommended).' },
  { name: 'OutputKafkaDeliveryGuarantee', group: 'Kafka sink', type: 'enum', values: ['EXACTLY_ONCE', 'AT_LEAST_ONCE'], default: 'EXACTLY_ONCE', description: 'EXACTLY_ONCE: one Kafka transaction per checkpoint, committed with it (for read_committed readers); AT_LEAST_ONCE: an idempotent producer, records since the last checkpoint sent again after a crash.' },
  { name: 'OutputKafkaTransactionalIdPrefix', group: 'Kafka sink', type: 'string', description: 'Prefix of the transactional ids of the exactly-once Kafka sink (<prefix>-<run id>-<n>); defaults to ApplicationName. Must differ between applications writing to the same cluster.' },
  { name: 'OutputKafkaTransactionTimeout', group: 'Kafka sink', type: 'integer', default: '900000', min: 1000, max: 3600000, description: 'Transaction timeout (ms) of the exactly-once Kafka sink: must cover a checkpoint interval plus recovery, and be at most the brokers\' transaction.max.timeout.ms (15 min by default).' },
  { name: 'OutputKafkaSecurityProtocol', group: 'Kafka sink', type: 'enum', values: ['PLAINTEXT', 'SSL', 'SASL_SSL'], default: 'PLAINTEXT', description: 'How to connect to the output brokers: PLAINTEXT, SSL (TLS), or SASL_SSL (TLS with OutputKafkaSaslMechanism).' },
  { name: 'OutputKafkaSaslMechanism', group: 'Kafka sink', type: 'enum', values: ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'AWS_MSK_IAM'], default: 'SCRAM-SHA-512', description: 'The SASL mechanism with SASL_SSL (AWS_MSK_IAM is not available yet).' },
  { name: 'OutputKafkaSaslUsername', group: 'Kafka sink', type: 'string', description: 'SCRAM user name of the output brokers.' },
  { name: 'OutputKafkaSaslPassword', group: 'Kafka sink', type: 'string', description: 'SCRAM password of the output brokers (pass it through the environment or a SecureString parameter).' },
  // --- Discard sink --------------------------------------------------------------------------
  { name: 'OutputDiscarding', group: 'Discard sink', type: 'boolean', default: 'false', description: 'Read and decode, then discard the events (for measuring the source).' },
  // --- Checkpoints ---------------------------------------------------------------------------
  { name: 'ApplicationName', group: 'Checkpoints', type: 'string', default: 'streaming-etl', description: 'Name of this application: the key of its checkpoints and the default Kafka group id.' },
  { name: 'CheckpointInterval', group: 'Checkpoints', type: 'integer', default: '60000', min: 100, description: 'Take a checkpoint (commit the output, store the positions) this often (ms).' },
  { name: 'CheckpointTable', group: 'Checkpoints', type: 'string', description: 'DynamoDB lease table holding leases and checkpoints (partition key "application", sort key "leaseKey", both strings). Without it, positions are not kept across restarts and only one task may run.' },
  { name: 'LeaseDuration', group: 'Checkpoints', type: 'integer', default: '10000', min: 1000, max: 600000, description: 'A shard lease not renewed for this long (ms) is taken by another task; a task that could not renew for four fifths of it stops.' },
  { name: 'LeaseRenewInterval', group: 'Checkpoints', type: 'integer', min: 100, max: 200000, description: 'How often a task renews its leases (ms); defaults to a third of LeaseDuration, and must be under half of it.' },
  { name: 'LeaseBalanceInterval', group: 'Checkpoints', type: 'integer', min: 100, max: 600000, description: 'How often a task lists the leases to take free or expired ones and to balance (ms); defaults to half of LeaseDuration.' },
  { name: 'MaxLeasesPerWorker', group: 'Checkpoints', type: 'integer', default: '98', min: 1, max: 98, description: 'Most shard leases one task holds (one checkpoint is one DynamoDB transaction of at most 100 items).' },
  // --- Operations ----------------------------------------------------------------------------
  { name: 'EventSchema', group: 'Operations', type: 'string', default: 'TripEvent', description: 'Schema of the events: a built-in name (TripEvent) or the path of a schema JSON file.' },
  { name: 'StatusInterval', group: 'Operations', type: 'integer', default: '10000', min: 100, description: 'Log a status line (and emit metrics) this often (ms).' },
  { name: 'MetricsNamespace', group: 'Operations', type: 'string', default: 'StreamingEtl', description: 'CloudWatch namespace of the embedded-metric-format metrics in the status lines.' },
  { name: 'HealthCheckPort', group: 'Operations', type: 'integer', default: '0', min: 0, max: 65535, description: 'Serve GET /health on this port (0: no health endpoint).' },
] as const satisfies readonly PropertySpec[];

/** The name of a runtime property. */
export type PropertyName = (typeof PROPERTY_SPECS)[number]['name'];

/** All property names, in catalogue order. */
export const PROPERTY_NAMES: readonly PropertyName[] = PROPERTY_SPECS.map((spec) => spec.name);

/** The managed-Flink property group id the processor reads from an ApplicationProperties document. */
export const PROPERTY_GROUP_ID = 'FlinkApplicationProperties';

/**
 * The environment variable that may hold a whole ApplicationProperties JSON document (in the cloud,
 * the SSM parameter is injected into the container through it).
 */
export const APPLICATION_PROPERTIES_ENV = 'APPLICATION_PROPERTIES_JSON';

/** The metric names the processor emits (embedded metric format), for the CloudWatch dashboard. */
export const PROCESSOR_METRICS = {
  eventsIn: 'EventsIn',
  eventsOut: 'EventsOut',
  eventsRejected: 'EventsRejected',
  millisBehindLatest: 'MillisBehindLatest',
  checkpointDuration: 'CheckpointDurationMs',
  checkpointsCompleted: 'CheckpointsCompleted',
} as const;
