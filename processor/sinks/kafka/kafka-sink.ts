/**
 * The Kafka sink: each valid event to a topic, keyed by the event id field (the trip id; the
 * record's source position when the schema has none), the value the event as JSON (its original
 * bytes). An idempotent producer (acks from all in-sync replicas, one request in flight per broker,
 * so the broker de-duplicates its own retries and keeps the order) sends in batches; pre-commit
 * waits until everything written is acknowledged, so a checkpoint never runs ahead of the output.
 *
 * Guarantee: at least once. Records sent since the last persisted checkpoint are sent again after
 * a crash (the next owner re-reads from the checkpoint), and kafkajs cannot resume a transaction
 * prepared by a crashed producer (DESIGN.md, "Kafka sink"), so the checkpoint cannot commit one.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import { createKafkaClient } from '../../../common/kafka/client.js';
import { KAFKA_COMPRESSION } from '../../../common/kafka/compression.js';
import type { Logger } from '../../../common/log.js';
import type { KafkaSinkConfig } from '../../config/types.js';
import type { EventSchema } from '../../formats/types.js';
import { BaseSink, type SinkContext, type SinkRecord } from '../../lifecycle.js';
import { SinkError } from '../errors.js';

/** Records per produce request. */
const BATCH_RECORDS = 1000;

/** Writes events to a Kafka topic, at least once. */
export class KafkaSink extends BaseSink {
  readonly name = 'kafka';
  readonly #config: KafkaSinkConfig;
  readonly #idIndex: number;
  readonly #log: Logger;
  readonly #kafka: Kafka | undefined;
  #producer: Producer | undefined;
  #buffer: Message[] = [];

  constructor(options: { config: KafkaSinkConfig; schema: EventSchema; log: Logger; kafka?: Kafka }) {
    super();
    this.#config = options.config;
    this.#log = options.log;
    this.#kafka = options.kafka;
    this.#idIndex = options.schema.idField ? options.schema.fields.findIndex((f) => f.name === options.schema.idField) : -1;
  }

  override async start(context: SinkContext): Promise<void> {
    const kafka = this.#kafka ?? createKafkaClient({ brokers: this.#config.bootstrapServers, clientId: `streaming-etl-sink-${context.runId}`, log: this.#log.child('kafkajs'), security: this.#config.security });
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await this.#producer.connect();
    } catch (error) {
      throw new SinkError(`could not connect to Kafka (${this.#config.bootstrapServers.join(',')}) for topic ${this.#config.topic}`, { cause: error, retriable: true });
    }
  }

  async write(records: readonly SinkRecord[]): Promise<void> {
    for (const r of records) {
      const id = this.#idIndex >= 0 ? r.event.values[this.#idIndex] : null;
      const key = id === null || id === undefined ? `${r.origin.shard}:${r.origin.position}` : String(id);
      this.#buffer.push({ key, value: Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength) });
    }
    if (this.#buffer.length >= BATCH_RECORDS) await this.#send();
  }

  async #send(): Promise<void> {
    const messages = this.#buffer;
    if (messages.length === 0) return;
    this.#buffer = [];
    if (!this.#producer) throw new SinkError('the Kafka sink was written to before start()');
    try {
      await this.#producer.send({ topic: this.#config.topic, messages, acks: -1, compression: KAFKA_COMPRESSION[this.#config.compression] });
    } catch (error) {
      throw new SinkError(`could not write ${messages.length} records to Kafka topic ${this.#config.topic}`, { cause: error, retriable: true });
    }
    this.eventsOut += messages.length;
  }

  override async preCommit(): Promise<undefined> {
    await this.#send();
    return undefined;
  }

  override async close(): Promise<void> {
    await this.#producer?.disconnect();
  }
}
