/**
 * The processor's typed configuration, produced once at start-up from the runtime properties
 * (see `common/properties` for the catalogue and `./load.ts` for the sources and their precedence).
 */

import type { KafkaSecurity as KafkaClientSecurity } from '../../common/kafka/client.js';
import type { KafkaCompressionName } from '../../common/kafka/compression.js';

/** Where a shard without a checkpoint starts. */
export type InitialPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: Date };

/** Where a Kafka partition without a checkpoint or committed group offset starts. */
export type KafkaStartingPosition = 'EARLIEST' | 'LATEST';

/** Compression of the record batches the Kafka sink writes. */
export type KafkaCompression = KafkaCompressionName;

/** How a Kafka client connects: plaintext, TLS, or TLS with SCRAM. */
export type KafkaSecurity = KafkaClientSecurity;

/** The one source. */
export type SourceConfig =
  | {
      readonly kind: 'kinesis';
      /** Stream name (an ARN is reduced to its name, and its region used when no region is given). */
      readonly streamName: string;
      /** The stream ARN, when one was given. */
      readonly streamArn?: string;
      readonly region?: string;
      readonly initialPosition: InitialPosition;
    }
  | {
      readonly kind: 'kafka';
      readonly bootstrapServers: readonly string[];
      readonly topic: string;
      readonly groupId: string;
      readonly startingPosition: KafkaStartingPosition;
      readonly security: KafkaSecurity;
    };

/** The S3 sink. */
export interface S3SinkConfig {
  readonly kind: 's3';
  readonly bucket: string;
  /** The key prefix for data: the path of OutputBucket (if any) joined with OutputPrefix; '' or ending in '/'. */
  readonly prefix: string;
  /** The key prefix for dead-letter output: the path of OutputBucket joined with OutputErrorPrefix; '' or ending in '/'. */
  readonly errorPrefix: string;
  readonly format: 'parquet' | 'json';
  readonly parquetEncoder: 'parquet-wasm' | 'parquetjs-lite';
  readonly parquetCompression: 'SNAPPY' | 'GZIP' | 'ZSTD' | 'UNCOMPRESSED';
  readonly partitionTemplate: string;
  readonly rolloverSizeBytes: number;
  readonly rolloverIntervalMs: number;
  readonly inactivityIntervalMs: number;
}

/** The Kinesis sink (at-least-once). */
export interface KinesisSinkConfig {
  readonly kind: 'kinesis';
  readonly streamName: string;
  readonly streamArn?: string;
  readonly region?: string;
}

/** The Kafka sink. */
export interface KafkaSinkConfig {
  readonly kind: 'kafka';
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly compression: KafkaCompression;
  readonly security: KafkaSecurity;
  /** EXACTLY_ONCE: a transaction per checkpoint; AT_LEAST_ONCE: an idempotent producer. */
  readonly deliveryGuarantee: KafkaDeliveryGuarantee;
  /** Transactional ids are `<prefix>-<run id>-<n>`. */
  readonly transactionalIdPrefix: string;
  readonly transactionTimeoutMs: number;
}

/** The Kafka sink's guarantee, as Flink's `DeliveryGuarantee`. */
export type KafkaDeliveryGuarantee = 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';

/** The OpenSearch sink. */
export interface OpenSearchSinkConfig {
  readonly kind: 'opensearch';
  readonly endpoint: string;
  readonly region?: string;
  readonly bulkFlushMaxBytes: number;
  readonly bulkFlushMaxActions: number;
  readonly bulkFlushIntervalMs: number;
  /** The event field whose value names each document's index (after `indexPrefix`). */
  readonly indexField: string;
  /** Prepended to every index name; '' for none. */
  readonly indexPrefix: string;
  /** The event field whose value is the document id. */
  readonly documentIdField: string;
}

/** The Discard sink. */
export interface DiscardSinkConfig {
  readonly kind: 'discard';
}

/** Any sink. */
export type SinkConfig = S3SinkConfig | KinesisSinkConfig | KafkaSinkConfig | OpenSearchSinkConfig | DiscardSinkConfig;

/** The whole configuration of one processor. */
export interface ProcessorConfig {
  readonly applicationName: string;
  readonly source: SourceConfig;
  /** At least one. */
  readonly sinks: readonly SinkConfig[];
  readonly checkpointIntervalMs: number;
  /** DynamoDB table of the checkpoints; absent: positions are not kept across restarts. */
  readonly checkpointTable?: string;
  /** A lease not renewed for this long is taken over (ms). */
  readonly leaseDurationMs: number;
  /** How often leases are renewed (ms); a third of the duration when absent. */
  readonly leaseRenewIntervalMs?: number;
  /** How often leases are listed, taken and balanced (ms); half the duration when absent. */
  readonly leaseBalanceIntervalMs?: number;
  /** Most leases one task holds. */
  readonly maxLeasesPerWorker: number;
  /** A built-in schema name or a schema file path. */
  readonly eventSchema: string;
  readonly statusIntervalMs: number;
  readonly metricsNamespace: string;
  /** 0: no health endpoint. */
  readonly healthCheckPort: number;
  /** Every property's resolved raw value and where it came from, for the start-up log. */
  readonly resolved: Readonly<Record<string, { readonly value: string; readonly from: 'default' | 'properties-file' | 'environment-json' | 'environment' | 'flag' }>>;
}
