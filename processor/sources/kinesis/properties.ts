/**
 * The Kinesis source's runtime properties, its typed configuration, and how it is created. Loaded
 * by the CDK stack and `--help` through the catalogue: no SDK import here (`create` imports the
 * source when called).
 */
import type { PropertySpec } from '../../../common/properties/index.js';
import type { PropertyNameOf, SourceConnector } from '../../connector.js';
import { parseIsoTimestamp } from '../../config/iso-timestamp.js';
import { parseStream } from '../../config/kinesis-properties.js';

/** Where a shard without a checkpoint starts. */
export type InitialPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: Date };

/** The Kinesis source. */
export interface KinesisSourceConfig {
  readonly kind: 'kinesis';
  /** Stream name (an ARN is reduced to its name, and its region used when no region is given). */
  readonly streamName: string;
  /** The stream ARN, when one was given. */
  readonly streamArn?: string;
  readonly region?: string;
  readonly initialPosition: InitialPosition;
}

const PROPERTIES = [
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
] as const satisfies readonly PropertySpec[];

type Name = (typeof PROPERTIES)[number]['name'];

/** The Kinesis source connector. */
export const kinesisSource: SourceConnector<KinesisSourceConfig, Name> = {
  kind: 'kinesis',
  properties: PROPERTIES,
  switches: ['InputKinesisStream'],
  label: 'Kinesis',
  hint: 'InputKinesisStream (a Kinesis stream name or ARN)',
  onlyForThisSource: ['InputStreamRegion', 'InputStreamInitialTimestamp'],
  build(values) {
    const stream = parseStream(values, 'InputKinesisStream', 'InputStreamRegion');
    const initialPosition = parseInitialPosition(values);
    if (initialPosition !== undefined && initialPosition.type !== 'AT_TIMESTAMP' && values.given('InputStreamInitialTimestamp') !== undefined) {
      values.warn(`${values.shown('InputStreamInitialTimestamp')} ignored: it applies only when InputStreamInitalPosition is AT_TIMESTAMP, and ${values.shown('InputStreamInitalPosition')}`);
    }
    return stream !== undefined && initialPosition !== undefined ? { kind: 'kinesis', ...stream, initialPosition } : undefined;
  },
  async create(config, context) {
    const { KinesisSource } = await import('./kinesis-source.js');
    return new KinesisSource({
      streamName: config.streamName,
      ...(config.streamArn ? { streamArn: config.streamArn } : {}),
      ...(config.region ? { region: config.region } : {}),
      initialPosition: config.initialPosition,
      log: context.log.child('source'),
      leases: context.leases,
      timings: context.timings,
      ...(context.shardDiscoveryIntervalMs ? { shardDiscoveryIntervalMs: context.shardDiscoveryIntervalMs } : {}),
      ...(context.kinesisBodyScanner ? { scanBody: context.kinesisBodyScanner } : {}),
    });
  },
};

/** The names of the Kinesis source's properties. */
export type KinesisSourcePropertyName = PropertyNameOf<typeof kinesisSource>;

/** Where a shard without a checkpoint starts; AT_TIMESTAMP needs a valid ISO-8601 InputStreamInitialTimestamp. */
function parseInitialPosition(values: Parameters<(typeof kinesisSource)['build']>[0]): InitialPosition | undefined {
  const position = values.str('InputStreamInitalPosition') ?? 'LATEST';
  const timestamp = values.str('InputStreamInitialTimestamp');
  if (position !== 'AT_TIMESTAMP') return { type: position as 'TRIM_HORIZON' | 'LATEST' };
  if (timestamp === undefined) {
    values.problem('InputStreamInitialTimestamp', `must be set to an ISO-8601 time such as 2018-01-01T00:00:00Z when ${values.shown('InputStreamInitalPosition')}`);
    return undefined;
  }
  const date = parseIsoTimestamp(timestamp);
  if (date === undefined) {
    values.problem('InputStreamInitialTimestamp', 'expected an ISO-8601 time such as 2018-01-01T00:00:00Z or 2018-01-01T01:00:00+01:00');
    return undefined;
  }
  return { type: 'AT_TIMESTAMP', timestamp: date };
}
