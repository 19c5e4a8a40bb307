/**
 * The Kafka sink: each valid event to a topic, keyed by the event id field (the trip id; the
 * record's source position when the schema has none), the value the event as JSON (its original
 * bytes), in batches, with acks from all in-sync replicas. Two guarantees (`OutputKafkaDeliveryGuarantee`,
 * as Flink's `DeliveryGuarantee`; DESIGN.md, "Kafka sink"):
 *
 * - EXACTLY_ONCE (default): the records of one checkpoint interval go into one Kafka transaction
 *   with its own transactional id, `<prefix>-<run id>-<n>` (n counts the run's transactions from 1).
 *   Pre-commit waits for every acknowledgement and returns the transaction's id, producer id and
 *   epoch; commit sends its EndTxn, so any run can commit a transaction a crashed run persisted
 *   (transactions.ts). A dead run's transactions after its last persisted one are aborted by
 *   fencing their ids, so they do not hold back read_committed readers until their timeout.
 * - AT_LEAST_ONCE: an idempotent producer (one request in flight per broker, so the broker
 *   de-duplicates its own retries and keeps the order); pre-commit waits for every
 *   acknowledgement. Records sent since the last persisted checkpoint are sent again after a crash.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import { createKafkaClient } from '../../../common/kafka/client.js';
import { KAFKA_COMPRESSION } from '../../../common/kafka/compression.js';
import type { Logger } from '../../../common/log.js';
import type { KafkaSinkConfig } from '../../config/types.js';
import type { EventSchema } from '../../formats/types.js';
import { BaseSink, type SinkContext, type SinkRecord } from '../../lifecycle.js';
import { SinkError } from '../errors.js';
import { TransactionLostError, TransactionalProducer, type OpenTransaction, type TransactionHandle } from './transactions.js';

/** Records per produce request. */
const BATCH_RECORDS = 1000;

/** What the exactly-once sink's pre-commit hands to the checkpoint: the transaction to commit. */
export interface KafkaPendingCommit extends TransactionHandle {
  /** Records in the transaction. */
  readonly records: number;
}

function isPendingCommit(p: unknown): p is KafkaPendingCommit {
  const c = p as Partial<KafkaPendingCommit> | undefined;
  return typeof c?.transactionalId === 'string' && typeof c.producerId === 'string' && typeof c.producerEpoch === 'number' && typeof c.records === 'number';
}

/** The transactional id of a run's n-th transaction. */
export function transactionalIdOf(prefix: string, runId: string, n: number): string {
  return `${prefix}-${runId}-${n}`;
}

/** Writes events to a Kafka topic, exactly once (transactions tied to the checkpoint) or at least once. */
export class KafkaSink extends BaseSink<KafkaPendingCommit> {
  readonly name = 'kafka';
  readonly #config: KafkaSinkConfig;
  readonly #idIndex: number;
  readonly #log: Logger;
  readonly #kafka: Kafka | undefined;
  #producer: Producer | undefined;
  #transactions: TransactionalProducer | undefined;
  #open: OpenTransaction | undefined;
  #runId = '';
  /** Transactions begun by this run. */
  #begun = 0;
  #buffer: Message[] = [];
  /** Persisted transactions that could not be committed (the broker had aborted them): records lost. */
  lostTransactions = 0;

  constructor(options: { config: KafkaSinkConfig; schema: EventSchema; log: Logger; kafka?: Kafka }) {
    super();
    this.#config = options.config;
    this.#log = options.log;
    this.#kafka = options.kafka;
    this.#idIndex = options.schema.idField ? options.schema.fields.findIndex((f) => f.name === options.schema.idField) : -1;
  }

  get #exactlyOnce(): boolean {
    return this.#config.deliveryGuarantee === 'EXACTLY_ONCE';
  }

  override async start(context: SinkContext): Promise<void> {
    this.#runId = context.runId;
    const kafka = this.#kafka ?? createKafkaClient({ brokers: this.#config.bootstrapServers, clientId: `streaming-etl-sink-${context.runId}`, log: this.#log.child('kafkajs'), security: this.#config.security });
    try {
      if (this.#exactlyOnce) {
        this.#transactions = new TransactionalProducer(kafka, { transactionTimeoutMs: this.#config.transactionTimeoutMs });
        await this.#transactions.connect();
      } else {
        this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
        await this.#producer.connect();
      }
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
    const compression = KAFKA_COMPRESSION[this.#config.compression];
    try {
      if (this.#transactions) {
        if (!this.#open) {
          this.#begun += 1;
          this.#open = await this.#transactions.begin(transactionalIdOf(this.#config.transactionalIdPrefix, this.#runId, this.#begun));
        }
        await this.#open.send(this.#config.topic, messages, compression);
        return;
      }
      if (!this.#producer) throw new SinkError('the Kafka sink was written to before start()');
      await this.#producer.send({ topic: this.#config.topic, messages, acks: -1, compression });
      this.eventsOut += messages.length;
    } catch (error) {
      if (error instanceof SinkError) throw error;
      throw new SinkError(`could not write ${messages.length} records to Kafka topic ${this.#config.topic}`, { cause: error, retriable: true });
    }
  }

  override async preCommit(): Promise<KafkaPendingCommit | undefined> {
    await this.#send();
    const open = this.#open;
    if (!open) return undefined;
    // The next write begins the next transaction (a new id): this one is the checkpoint's now.
    this.#open = undefined;
    return { ...open.handle, records: open.records };
  }

  override async commit(pending: KafkaPendingCommit, checkpointId: number, recovering: boolean): Promise<number> {
    if (!isPendingCommit(pending)) throw new SinkError(`checkpoint ${checkpointId} holds no Kafka transaction (got ${JSON.stringify(pending)})`);
    if (!this.#transactions) throw new SinkError(`checkpoint ${checkpointId} holds Kafka transaction ${pending.transactionalId}, but this sink is AT_LEAST_ONCE (OutputKafkaDeliveryGuarantee); set EXACTLY_ONCE to commit it`);
    try {
      await this.#transactions.end(pending, true);
    } catch (error) {
      if (!(error instanceof TransactionLostError)) throw error;
      // Failing would not bring the records back, and every restart would fail the same way: say it loudly and go on.
      this.lostTransactions += 1;
      this.#log.error('DATA LOSS: a persisted Kafka transaction was aborted by the broker before it could be committed', {
        transactionalId: pending.transactionalId,
        producerId: pending.producerId,
        producerEpoch: pending.producerEpoch,
        records: pending.records,
        checkpointId,
        recovering,
        transactionTimeoutMs: this.#config.transactionTimeoutMs,
        error: error.message,
      });
      return 0;
    }
    this.eventsOut += pending.records;
    return pending.records;
  }

  /**
   * Aborts the open transactions of the dead run `runId`: those after its last persisted one.
   * Transaction n + 1 begins only after transaction n was pre-committed, and a run whose
   * pre-committed transaction was not persisted stops, so those are the ids after the largest
   * kept one, fenced one by one until an id that was never initialised (epoch 0).
   */
  override async abortLeftovers(runId: string, kept: readonly KafkaPendingCommit[]): Promise<number> {
    if (!this.#transactions) return 0;
    const prefix = transactionalIdOf(this.#config.transactionalIdPrefix, runId, 0).slice(0, -1);
    let last = 0;
    for (const p of kept) {
      if (!isPendingCommit(p) || !p.transactionalId.startsWith(prefix)) continue;
      const n = Number(p.transactionalId.slice(prefix.length));
      if (Number.isSafeInteger(n) && n > last) last = n;
    }
    let fenced = 0;
    for (let n = last + 1; ; n += 1) {
      const id = transactionalIdOf(this.#config.transactionalIdPrefix, runId, n);
      const epoch = await this.#transactions.fence(id);
      if (epoch === 0) break;
      fenced += 1;
      this.#log.info('aborted a dead run’s unpersisted Kafka transaction', { transactionalId: id, run: runId });
    }
    return fenced;
  }

  override async close(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    // Not pre-committed, so in no checkpoint: abort it now rather than hold back read_committed readers until its timeout.
    if (open && this.#transactions) await this.#transactions.end(open.handle, false).catch((error: unknown) => this.#log.warn('could not abort the open Kafka transaction; a later run fences it', { transactionalId: open.transactionalId, error: String(error) }));
    await this.#producer?.disconnect();
    await this.#transactions?.disconnect();
  }
}
