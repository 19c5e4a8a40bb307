/**
 * The replay's Kafka writer: the same contract as the Kinesis PutRecords writer (write, close,
 * stats, failure), so the replay's pacing, statistics and bad-row handling are the same for both
 * destinations. Records are keyed by the partition key (the trip id) and sent in batches of up to
 * `batchRecords` by an idempotent producer (acks from all in-sync replicas, one request in flight),
 * or after `lingerMs` when fewer are waiting, so a slow replay still delivers promptly. `write`
 * waits while `maxBuffered` records are waiting (backpressure).
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import { createKafkaClient } from '../common/kafka/client.js';
import { KafkaClientError } from '../common/kafka/errors.js';
import type { KinesisRecord, PutRecordsWriterStats } from '../common/kinesis/index.js';
import type { Logger } from '../common/log.js';
import { KAFKA_COMPRESSION, type KafkaCompressionName } from '../common/kafka/compression.js';

/** A record the topic cannot take (larger than the broker's default message.max.bytes): nothing of it was sent. */
export class KafkaRecordRejectedError extends KafkaClientError {}

/** The largest record (value + key) the writer sends: the broker's default `message.max.bytes` less the batch overhead. */
export const KAFKA_MAX_RECORD_BYTES = 1_000_000;

/** Where and how the replay writes to Kafka. */
export interface KafkaReplayTarget {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  /** @default 'none' */
  readonly compression?: KafkaCompressionName;
}

/** Writes replayed events to a Kafka topic. */
export class KafkaRecordWriter {
  readonly #target: KafkaReplayTarget;
  readonly #producer: Producer;
  readonly #log: Logger;
  readonly #batchRecords: number;
  readonly #lingerMs: number;
  #buffer: Message[] = [];
  #bufferBytes = 0;
  #sending: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #connected: Promise<void> | undefined;
  #failure: KafkaClientError | undefined;
  #closed = false;
  #counters = { recordsWritten: 0, recordsSent: 0, bytesSent: 0, requests: 0, retries: 0, throttles: 0 };
  #inFlight = 0;
  #inFlightRecords = 0;

  readonly #onSent: (records: number) => void;

  constructor(options: { target: KafkaReplayTarget; log: Logger; kafka?: Kafka; batchRecords?: number; lingerMs?: number; onSent?: (records: number) => void }) {
    this.#target = options.target;
    this.#onSent = options.onSent ?? (() => undefined);
    this.#log = options.log;
    this.#batchRecords = options.batchRecords ?? 500;
    this.#lingerMs = options.lingerMs ?? 100;
    const kafka = options.kafka ?? createKafkaClient({ brokers: options.target.bootstrapServers, clientId: 'etl-replay', log: options.log.child('kafkajs') });
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  /** The writer's counters, in the Kinesis writer's shape. */
  get stats(): PutRecordsWriterStats {
    return { ...this.#counters, failedRecords: this.#failure ? this.#inFlightRecords + this.#buffer.length : 0, inFlight: this.#inFlight, buffered: this.#buffer.length };
  }

  /** The error the writer failed with, if it did. */
  get failure(): KafkaClientError | undefined {
    return this.#failure;
  }

  /** Takes records; resolves once they are buffered (waits while a full batch is being sent). */
  async write(records: KinesisRecord | readonly KinesisRecord[]): Promise<void> {
    if (this.#closed) throw new KafkaClientError('write() after close()');
    if (this.#failure) throw this.#failure;
    this.#connected ??= this.#producer.connect().catch((error: unknown) => {
      throw new KafkaClientError(`could not connect to Kafka (${this.#target.bootstrapServers.join(',')})`, { cause: error, retriable: true });
    });
    await this.#connected;
    const list: readonly KinesisRecord[] = Array.isArray(records) ? records : [records as KinesisRecord];
    const tooBig = list.find((r) => r.data.byteLength + Buffer.byteLength(r.partitionKey) > KAFKA_MAX_RECORD_BYTES);
    if (tooBig) throw new KafkaRecordRejectedError(`a record of ${tooBig.data.byteLength} bytes is larger than ${KAFKA_MAX_RECORD_BYTES} bytes, the most a topic takes by default`);
    for (const r of list) {
      this.#buffer.push({ key: r.partitionKey, value: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength) });
      this.#bufferBytes += r.data.byteLength + r.partitionKey.length;
      this.#counters.recordsWritten += 1;
    }
    if (this.#buffer.length >= this.#batchRecords) {
      await this.#sending;
      this.#dispatch();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => this.#dispatch(), this.#lingerMs);
    }
    if (this.#failure) throw this.#failure;
  }

  #dispatch(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0 || this.#failure) return;
    const messages = this.#buffer;
    const bytes = this.#bufferBytes;
    this.#buffer = [];
    this.#bufferBytes = 0;
    this.#sending = this.#sending.then(async () => {
      if (this.#failure) return;
      this.#inFlight += 1;
      this.#inFlightRecords += messages.length;
      this.#counters.requests += 1;
      try {
        await this.#producer.send({ topic: this.#target.topic, messages, acks: -1, compression: KAFKA_COMPRESSION[this.#target.compression ?? 'none'] });
        this.#counters.recordsSent += messages.length;
        this.#onSent(messages.length);
        this.#counters.bytesSent += bytes;
        this.#inFlightRecords -= messages.length;
      } catch (error) {
        this.#failure = new KafkaClientError(`could not write ${messages.length} records to Kafka topic ${this.#target.topic}`, { cause: error });
        this.#log.warn('Kafka write failed', { error: this.#failure });
      } finally {
        this.#inFlight -= 1;
      }
    });
  }

  /** Sends what is buffered and waits for every acknowledgement, then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dispatch();
    await this.#sending;
    if (this.#connected) await this.#connected.then(() => this.#producer.disconnect()).catch(() => undefined);
    if (this.#failure) throw this.#failure;
  }
}
