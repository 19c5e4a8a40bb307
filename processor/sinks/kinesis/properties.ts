/**
 * The Kinesis sink's runtime properties, its typed configuration, and how it is created. Loaded by
 * the CDK stack and `--help` through the catalogue: no SDK import here (`create` imports the sink
 * when called).
 */
import type { PropertySpec } from '../../../common/properties/index.js';
import type { PropertyNameOf, SinkConnector } from '../../connector.js';
import { parseStream } from '../../config/kinesis-properties.js';

/** The Kinesis sink (at-least-once). */
export interface KinesisSinkConfig {
  readonly kind: 'kinesis';
  readonly streamName: string;
  readonly streamArn?: string;
  readonly region?: string;
}

const PROPERTIES = [
  { name: 'OutputKinesisStream', group: 'Kinesis sink', type: 'string', description: 'Name or ARN of a Kinesis stream to copy valid events to (at-least-once).' },
  { name: 'OutputStreamRegion', group: 'Kinesis sink', type: 'string', description: 'Region of the output Kinesis stream; defaults to the SDK chain.' },
] as const satisfies readonly PropertySpec[];

type Name = (typeof PROPERTIES)[number]['name'];

/** The Kinesis sink connector (at least once). */
export const kinesisSink: SinkConnector<KinesisSinkConfig, Name> = {
  kind: 'kinesis',
  properties: PROPERTIES,
  switches: ['OutputKinesisStream'],
  hint: { text: 'OutputKinesisStream', place: 2 },
  build(values) {
    const stream = parseStream(values, 'OutputKinesisStream', 'OutputStreamRegion');
    return stream === undefined ? undefined : { kind: 'kinesis', ...stream };
  },
  async create(config, { schema, log }) {
    const { KinesisSink } = await import('./kinesis-sink.js');
    return new KinesisSink({ config, schema, log: log.child('kinesis-sink') });
  },
};

/** The names of the Kinesis sink's properties. */
export type KinesisSinkPropertyName = PropertyNameOf<typeof kinesisSink>;
