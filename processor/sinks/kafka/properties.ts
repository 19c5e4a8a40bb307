/**
 * The Kafka sink's runtime properties, its typed configuration, and how it is created. Loaded by the
 * CDK stack and `--help` through the catalogue: no kafkajs import here (`create` imports the sink
 * when called).
 */
import type { KafkaCompressionName } from '../../../common/kafka/compression.js';
import type { PropertySpec } from '../../../common/properties/index.js';
import type { PropertyNameOf, SinkConnector } from '../../connector.js';
import { kafkaPair, kafkaSecurity } from '../../config/kafka-properties.js';
import type { KafkaSecurity } from '../../config/kafka-properties.js';

/** Compression of the record batches the Kafka sink writes. */
export type KafkaCompression = KafkaCompressionName;

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

const PROPERTIES = [
  { name: 'OutputKafkaBootstrapServers', group: 'Kafka sink', type: 'string', description: 'Comma-separated Kafka bootstrap servers of the output topic.' },
  { name: 'OutputKafkaTopic', group: 'Kafka sink', type: 'string', description: 'Kafka topic to write valid events to (key: the event id, value: the event JSON; exactly once for read_committed readers by default, see OutputKafkaDeliveryGuarantee and the guarantees).' },
  { name: 'OutputKafkaCompression', group: 'Kafka sink', type: 'enum', values: ['none', 'gzip', 'snappy', 'lz4', 'zstd'], default: 'none', description: 'Compression of the record batches written to OutputKafkaTopic (lz4 recommended).' },
  { name: 'OutputKafkaDeliveryGuarantee', group: 'Kafka sink', type: 'enum', values: ['EXACTLY_ONCE', 'AT_LEAST_ONCE'], default: 'EXACTLY_ONCE', description: 'EXACTLY_ONCE: one Kafka transaction per checkpoint, committed with it (for read_committed readers); AT_LEAST_ONCE: an idempotent producer, records since the last checkpoint sent again after a crash.' },
  { name: 'OutputKafkaTransactionalIdPrefix', group: 'Kafka sink', type: 'string', description: 'Prefix of the transactional ids of the exactly-once Kafka sink (<prefix>-<run id>-<n>); defaults to ApplicationName. Must differ between applications writing to the same cluster.' },
  { name: 'OutputKafkaTransactionTimeout', group: 'Kafka sink', type: 'integer', default: '900000', min: 1000, max: 3600000, description: 'Transaction timeout (ms) of the exactly-once Kafka sink: must cover a checkpoint interval plus recovery, and be at most the brokers\' transaction.max.timeout.ms (15 min by default).' },
  { name: 'OutputKafkaSecurityProtocol', group: 'Kafka sink', type: 'enum', values: ['PLAINTEXT', 'SSL', 'SASL_SSL'], default: 'PLAINTEXT', description: 'How to connect to the output brokers: PLAINTEXT, SSL (TLS), or SASL_SSL (TLS with OutputKafkaSaslMechanism).' },
  { name: 'OutputKafkaSaslMechanism', group: 'Kafka sink', type: 'enum', values: ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'AWS_MSK_IAM'], default: 'SCRAM-SHA-512', description: 'The SASL mechanism with SASL_SSL: SCRAM-SHA-256 or SCRAM-SHA-512 (with OutputKafkaSaslUsername and OutputKafkaSaslPassword), or AWS_MSK_IAM (Amazon MSK IAM auth with the AWS credentials of the task role; no user name or password; the signing region from the MSK broker host names or AWS_REGION).' },
  { name: 'OutputKafkaSaslUsername', group: 'Kafka sink', type: 'string', description: 'SCRAM user name of the output brokers (not with AWS_MSK_IAM).' },
  { name: 'OutputKafkaSaslPassword', group: 'Kafka sink', type: 'string', description: 'SCRAM password of the output brokers (pass it through the environment or a SecureString parameter).' },
] as const satisfies readonly PropertySpec[];

type Name = (typeof PROPERTIES)[number]['name'];

/** The Kafka sink connector (exactly once by default, see DESIGN.md "Kafka sink"). */
export const kafkaSink: SinkConnector<KafkaSinkConfig, Name> = {
  kind: 'kafka',
  properties: PROPERTIES,
  switches: ['OutputKafkaTopic', 'OutputKafkaBootstrapServers'],
  hint: { text: 'OutputKafkaTopic with OutputKafkaBootstrapServers', place: 3 },
  build(values, { applicationName, awsRegion }) {
    const pair = kafkaPair(values, 'OutputKafkaTopic', 'OutputKafkaBootstrapServers');
    const security = kafkaSecurity('Output', values, awsRegion);
    const transactionalIdPrefix = values.str('OutputKafkaTransactionalIdPrefix') ?? applicationName;
    if (!/^[A-Za-z0-9._-]{1,200}$/.test(transactionalIdPrefix)) {
      const expected = 'expected 1 to 200 letters, digits, ".", "_" or "-" (the transactional ids are <prefix>-<run id>-<n>)';
      values.problem('OutputKafkaTransactionalIdPrefix', values.given('OutputKafkaTransactionalIdPrefix') ? expected : `${expected}; it defaults to ApplicationName, ${JSON.stringify(applicationName)}: set it`);
    }
    if (pair === undefined || security === undefined) return undefined;
    return {
      kind: 'kafka',
      ...pair,
      compression: (values.str('OutputKafkaCompression') ?? 'none') as KafkaCompression,
      security,
      deliveryGuarantee: (values.str('OutputKafkaDeliveryGuarantee') ?? 'EXACTLY_ONCE') as KafkaDeliveryGuarantee,
      transactionalIdPrefix,
      transactionTimeoutMs: values.num('OutputKafkaTransactionTimeout'),
    };
  },
  async create(config, { schema, log }) {
    const { KafkaSink } = await import('./kafka-sink.js');
    return new KafkaSink({ config, schema, log: log.child('kafka-sink') });
  },
};

/** The names of the Kafka sink's properties. */
export type KafkaSinkPropertyName = PropertyNameOf<typeof kafkaSink>;
