import { EtlError } from '../errors.js';

/** A Kafka client operation failed (connecting, producing, a transaction, a codec). */
export class KafkaClientError extends EtlError {}
