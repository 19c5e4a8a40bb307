/**
 * The processor's typed configuration, produced once at start-up from the runtime properties
 * (see `./catalogue.ts` for the catalogue and `./load.ts` for the sources and their precedence).
 * Each connector's configuration type is declared in its folder (`../sources/<name>/properties.ts`,
 * `../sinks/<name>/properties.ts`); the unions below are derived from the registry (`../connectors.ts`).
 */
import type { ConfigOf } from '../connector.js';
import type { SINK_CONNECTORS, SOURCE_CONNECTORS } from '../connectors.js';

export type { KafkaSecurity } from './kafka-properties.js';
export type { DiscardSinkConfig } from '../sinks/discard/properties.js';
export type { KafkaCompression, KafkaDeliveryGuarantee, KafkaSinkConfig } from '../sinks/kafka/properties.js';
export type { KinesisSinkConfig } from '../sinks/kinesis/properties.js';
export type { OpenSearchSinkConfig } from '../sinks/opensearch/properties.js';
export type { S3SinkConfig } from '../sinks/s3/properties.js';
export type { FileSourceConfig } from '../sources/file/properties.js';
export type { KafkaSourceConfig, KafkaStartingPosition } from '../sources/kafka/properties.js';
export type { InitialPosition, KinesisSourceConfig } from '../sources/kinesis/properties.js';

/** The one source. */
export type SourceConfig = ConfigOf<(typeof SOURCE_CONNECTORS)[number]>;

/** Any sink. */
export type SinkConfig = ConfigOf<(typeof SINK_CONNECTORS)[number]>;

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
