/**
 * The connector registry: every source and sink, listed once. Each connector lives in its own
 * folder (`sources/kinesis`, `sinks/s3`, …) whose `properties.ts` declares its runtime properties,
 * builds its typed configuration from them and creates it (the contract is `./connector.ts`).
 * Everything else is derived from these two lists: the property catalogue and its order
 * (`config/catalogue.ts`: sources, then sinks, then the shared properties), `--help`, the
 * CloudFormation parameters (`lib/runtime-properties.ts`), the one-source and at-least-one-sink
 * rules and the configuration (`config/build.ts`), the configuration types (`config/types.ts`), and
 * construction (below). So adding a connector is a new folder and one line here
 * (`test/unit/connectors.test.ts` checks that the folders and this list agree).
 *
 * This module is import-light: the CDK stack and `--help` load it. A connector's implementation
 * (SDKs, kafkajs, Parquet) is imported by its `create` only.
 */
import type { ConnectorContext, SinkConnector, SourceConnector } from './connector.js';
import type { SinkConfig, SourceConfig } from './config/types.js';
import type { Sink } from './lifecycle.js';
import { discardSink } from './sinks/discard/properties.js';
import { kafkaSink } from './sinks/kafka/properties.js';
import { kinesisSink } from './sinks/kinesis/properties.js';
import { openSearchSink } from './sinks/opensearch/properties.js';
import { s3Sink } from './sinks/s3/properties.js';
import { fileSource } from './sources/file/properties.js';
import { kafkaSource } from './sources/kafka/properties.js';
import { kinesisSource } from './sources/kinesis/properties.js';
import type { Source } from './sources/types.js';

export type { ConnectorContext } from './connector.js';

/** The sources, in catalogue order. Exactly one is configured in a run. */
export const SOURCE_CONNECTORS = [kinesisSource, kafkaSource, fileSource] as const;

/** The sinks, in catalogue order; the configured ones are built, pre-commit and commit in this order (the dead letters after them). */
export const SINK_CONNECTORS = [s3Sink, openSearchSink, kinesisSink, kafkaSink, discardSink] as const;

/** A source or sink of the registry, seen as taking any configuration (its `kind` picks it). */
type AnySource = SourceConnector<SourceConfig>;
type AnySink = SinkConnector<SinkConfig>;

/** Creates the configured source. */
export function createSource(context: ConnectorContext): Promise<Source> {
  const config = context.config.source;
  const connector = SOURCE_CONNECTORS.find((candidate) => candidate.kind === config.kind) as unknown as AnySource;
  return connector.create(config, context);
}

/** Creates the configured sinks, in order. */
export async function createSinks(context: ConnectorContext): Promise<Sink[]> {
  const sinks: Sink[] = [];
  for (const config of context.config.sinks) {
    const connector = SINK_CONNECTORS.find((candidate) => candidate.kind === config.kind) as unknown as AnySink;
    sinks.push(await connector.create(config, context));
  }
  return sinks;
}
