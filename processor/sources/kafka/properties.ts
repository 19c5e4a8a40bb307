/**
 * The Kafka source's runtime properties, its typed configuration, and how it is created. Loaded by
 * the CDK stack and `--help` through the catalogue: no kafkajs import here (`create` imports the
 * source when called).
 */
import type { PropertySpec } from '../../../common/properties/index.js';
import type { PropertyNameOf, SourceConnector } from '../../connector.js';
import { kafkaPair, kafkaSecurity } from '../../config/kafka-properties.js';
import type { KafkaSecurity } from '../../config/kafka-properties.js';

/** Where a Kafka partition without a checkpoint or committed group offset starts. */
export type KafkaStartingPosition = 'EARLIEST' | 'LATEST';

/** The Kafka source. */
export interface KafkaSourceConfig {
  readonly kind: 'kafka';
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly startingPosition: KafkaStartingPosition;
  readonly security: KafkaSecurity;
}

const PROPERTIES = [
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
  { name: 'InputKafkaSaslMechanism', group: 'Source', type: 'enum', values: ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'AWS_MSK_IAM'], default: 'SCRAM-SHA-512', description: 'The SASL mechanism with SASL_SSL: SCRAM-SHA-256 or SCRAM-SHA-512 (with InputKafkaSaslUsername and InputKafkaSaslPassword), or AWS_MSK_IAM (Amazon MSK IAM auth with the AWS credentials of the task role; no user name or password; the signing region from the MSK broker host names or AWS_REGION).' },
  { name: 'InputKafkaSaslUsername', group: 'Source', type: 'string', description: 'SCRAM user name of the input brokers (not with AWS_MSK_IAM).' },
  { name: 'InputKafkaSaslPassword', group: 'Source', type: 'string', description: 'SCRAM password of the input brokers (pass it through the environment or a SecureString parameter).' },
] as const satisfies readonly PropertySpec[];

type Name = (typeof PROPERTIES)[number]['name'];

/** The Kafka source connector. */
export const kafkaSource: SourceConnector<KafkaSourceConfig, Name> = {
  kind: 'kafka',
  properties: PROPERTIES,
  switches: ['InputKafkaTopic', 'InputKafkaBootstrapServers'],
  label: 'Kafka',
  hint: 'InputKafkaTopic and InputKafkaBootstrapServers (a Kafka topic)',
  onlyForThisSource: ['InputKafkaGroupId', 'InputKafkaStartingPosition', 'InputKafkaSecurityProtocol', 'InputKafkaSaslMechanism', 'InputKafkaSaslUsername', 'InputKafkaSaslPassword'],
  build(values, { applicationName, awsRegion }) {
    const pair = kafkaPair(values, 'InputKafkaTopic', 'InputKafkaBootstrapServers');
    const startingPosition = (values.str('InputKafkaStartingPosition') ?? 'LATEST') as KafkaStartingPosition;
    const security = kafkaSecurity('Input', values, awsRegion);
    if (pair === undefined || security === undefined) return undefined;
    return { kind: 'kafka', ...pair, groupId: values.str('InputKafkaGroupId') ?? applicationName, startingPosition, security };
  },
  async create(config, context) {
    const { KafkaSource } = await import('./kafka-source.js');
    return new KafkaSource({
      bootstrapServers: config.bootstrapServers,
      topic: config.topic,
      groupId: config.groupId,
      startingPosition: config.startingPosition,
      security: config.security,
      log: context.log.child('source'),
      leases: context.leases,
      timings: context.timings,
    });
  },
};

/** The names of the Kafka source's properties. */
export type KafkaSourcePropertyName = PropertyNameOf<typeof kafkaSource>;
