/**
 * The connector registry: how each configured source and sink is built. Each connector lives in its
 * own folder (`sources/kinesis`, `sinks/s3`, …) and is registered here with one line, so adding a
 * connector touches its folder and this file only.
 */
import type { Logger } from '../common/log.js';
import type { LeaseTimings } from './checkpoint/lease-manager.js';
import type { LeaseTable } from './checkpoint/lease-table.js';
import type { ProcessorConfig, SinkConfig, SourceConfig } from './config/types.js';
import { createFileFormat } from './formats/index.js';
import type { EventSchema } from './formats/types.js';
import type { Sink } from './lifecycle.js';
import { DiscardSink } from './sinks/discard/discard-sink.js';
import { KafkaSink } from './sinks/kafka/kafka-sink.js';
import { KinesisSink } from './sinks/kinesis/kinesis-sink.js';
import { OpenSearchSink } from './sinks/opensearch/index.js';
import { S3Sink } from './sinks/s3/s3-sink.js';
import { KafkaSource } from './sources/kafka/kafka-source.js';
import { KinesisSource } from './sources/kinesis/kinesis-source.js';
import type { Source } from './sources/types.js';

/** What every connector may use. */
export interface ConnectorContext {
  readonly config: ProcessorConfig;
  readonly schema: EventSchema;
  readonly log: Logger;
  readonly jobStartMs: number;
  readonly leases: LeaseTable;
  readonly timings: LeaseTimings;
  readonly shardDiscoveryIntervalMs?: number;
}

type SourceFactory<C extends SourceConfig> = (config: C, context: ConnectorContext) => Promise<Source> | Source;
type SinkFactory<C extends SinkConfig> = (config: C, context: ConnectorContext) => Promise<Sink> | Sink;

const SOURCES: { readonly [K in SourceConfig['kind']]: SourceFactory<Extract<SourceConfig, { kind: K }>> } = {
  kinesis: (config, context) =>
    new KinesisSource({
      streamName: config.streamName,
      ...(config.streamArn ? { streamArn: config.streamArn } : {}),
      ...(config.region ? { region: config.region } : {}),
      initialPosition: config.initialPosition,
      log: context.log.child('source'),
      leases: context.leases,
      timings: context.timings,
      ...(context.shardDiscoveryIntervalMs ? { shardDiscoveryIntervalMs: context.shardDiscoveryIntervalMs } : {}),
    }),
  kafka: (config, context) =>
    new KafkaSource({
      bootstrapServers: config.bootstrapServers,
      topic: config.topic,
      groupId: config.groupId,
      startingPosition: config.startingPosition,
      security: config.security,
      log: context.log.child('source'),
      leases: context.leases,
      timings: context.timings,
    }),
};

const SINKS: { readonly [K in SinkConfig['kind']]: SinkFactory<Extract<SinkConfig, { kind: K }>> } = {
  s3: async (config, { schema, jobStartMs }) => {
    const format = await createFileFormat(schema, { format: config.format, parquetEncoder: config.parquetEncoder, compression: config.parquetCompression });
    return new S3Sink({ config, schema, format, jobStartMs });
  },
  kinesis: (config, { schema, log }) => new KinesisSink({ config, schema, log: log.child('kinesis-sink') }),
  discard: () => new DiscardSink(),
  kafka: (config, { schema, log }) => new KafkaSink({ config, schema, log: log.child('kafka-sink') }),
  opensearch: (config, { schema }) => new OpenSearchSink({ config, schema }),
};

/** Builds the configured source. */
export function createSource(context: ConnectorContext): Promise<Source> | Source {
  const config = context.config.source;
  return (SOURCES[config.kind] as SourceFactory<SourceConfig>)(config, context);
}

/** Builds the configured sinks, in order. */
export async function createSinks(context: ConnectorContext): Promise<Sink[]> {
  const sinks: Sink[] = [];
  for (const config of context.config.sinks) sinks.push(await (SINKS[config.kind] as SinkFactory<SinkConfig>)(config, context));
  return sinks;
}
