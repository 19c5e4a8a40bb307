/**
 * One place that builds kafkajs clients for the processor's Kafka source and sink and for the replay
 * tool: the bootstrap servers, a client id, and kafkajs's own log lines routed into our structured
 * logger (warnings and errors at warn, the rest at debug).
 */
import { Kafka, logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from '../log.js';
import { registerCodecs } from './codecs.js';
import { mskIamMechanism } from './msk-iam.js';

/** How a Kafka client connects: plaintext, TLS, TLS with SCRAM, or TLS with MSK IAM auth. */
export type KafkaSecurity =
  | { readonly protocol: 'PLAINTEXT' }
  | { readonly protocol: 'SSL' }
  | { readonly protocol: 'SASL_SSL'; readonly mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; readonly username: string; readonly password: string }
  | {
      readonly protocol: 'SASL_SSL';
      readonly mechanism: 'AWS_MSK_IAM';
      /** The signing region for broker hosts that name none (AWS_REGION when not given). */
      readonly region?: string;
      /** The property naming the brokers, for error messages. */
      readonly property?: string;
    };

/**
 * kafkajs's `ssl` and `sasl` settings for a security choice (TLS with the system's trusted CAs).
 * AWS_MSK_IAM signs with the AWS SDK's default credentials (common/kafka/msk-iam.ts).
 */
export function kafkaSecurityConfig(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (security.protocol === 'PLAINTEXT') return {};
  if (security.protocol === 'SSL') return { ssl: true };
  if (security.mechanism === 'AWS_MSK_IAM') {
    return { ssl: true, sasl: mskIamMechanism({ ...(security.region !== undefined ? { region: security.region } : {}), ...(security.property !== undefined ? { property: security.property } : {}) }) };
  }
  const credentials = { username: security.username, password: security.password };
  return { ssl: true, sasl: security.mechanism === 'SCRAM-SHA-256' ? { mechanism: 'scram-sha-256', ...credentials } : { mechanism: 'scram-sha-512', ...credentials } };
}

/** What a Kafka client needs. */
export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log: Logger;
  /** @default plaintext */
  readonly security?: KafkaSecurity;
  /** Connection timeout (ms). @default 5000 */
  readonly connectionTimeoutMs?: number;
  /** Request timeout (ms). @default 30000 */
  readonly requestTimeoutMs?: number;
}

/** Routes kafkajs's log lines into a structured logger. */
export function kafkaLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, ...fields } = entry;
      const method = level <= logLevel.ERROR ? 'warn' : 'debug';
      log[method](`kafkajs ${namespace}: ${String(message)}`, fields);
    };
}

/** A kafkajs client with every compression codec registered. */
export function createKafkaClient(options: KafkaClientOptions): Kafka {
  registerCodecs();
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    ...kafkaSecurityConfig(options.security ?? { protocol: 'PLAINTEXT' }),
    connectionTimeout: options.connectionTimeoutMs ?? 5000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(options.log),
  });
}
