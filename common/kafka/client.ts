/**
 * One place that builds kafkajs clients for the processor's Kafka source and sink and for the replay
 * tool: the bootstrap servers, a client id, and kafkajs's own log lines routed into our structured
 * logger (warnings and errors at warn, the rest at debug).
 */
import { Kafka, logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../log.js';
import { registerCodecs } from './codecs.js';

/** What a Kafka client needs. */
export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log: Logger;
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
    connectionTimeout: options.connectionTimeoutMs ?? 5000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(options.log),
  });
}
