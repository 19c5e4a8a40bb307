/**
 * Kafka transactions that any process can finish: the exactly-once Kafka sink's low-level half
 * (DESIGN.md, "Kafka sink"). A transaction is named by its transactional id, producer id and
 * epoch; whoever holds those three can send the EndTxn that commits it, which is how a run commits
 * a transaction prepared by a run that crashed between persisting a checkpoint and committing
 * (Flink's `FlinkKafkaInternalProducer.resumeTransaction` does the same).
 *
 * kafkajs's public API cannot do this (a producer only commits the transaction it began), so this
 * module uses kafkajs internals, which is why `package.json` pins kafkajs to exactly 2.2.4:
 * - `Kafka`'s private cluster factory (the symbol `private:Kafka:createCluster`) and logger
 *   (`private:Kafka:logger`), so the cluster has the client's brokers, TLS and SASL settings;
 * - `src/producer/eosManager` (InitProducerId, AddPartitionsToTxn, producer id/epoch and sequence
 *   numbers) and `src/producer/sendMessages` (Produce requests carrying them);
 * - the broker object's `initProducerId` and `endTxn`, reached through the cluster's
 *   `findGroupCoordinator` with coordinator type TRANSACTION (`src/protocol/coordinatorTypes`).
 * Upgrading kafkajs means checking these against the new version (test/integration/kafka-eos.test.ts).
 */
import { createRequire } from 'node:module';
import type { CompressionTypes, Kafka, Message } from 'kafkajs';
import { describeError } from '../../../common/errors.js';
import { retry } from '../../../common/retry.js';
import { SinkError } from '../errors.js';

const require = createRequire(import.meta.url);

/** The broker methods used here (kafkajs `src/broker/index.js`). */
interface InternalBroker {
  initProducerId(request: { transactionalId?: string; transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  endTxn(request: { transactionalId: string; producerId: string; producerEpoch: number; transactionResult: boolean }): Promise<unknown>;
}

/** The cluster methods used here (kafkajs `src/cluster/index.js`). */
interface InternalCluster {
  readonly retry: unknown;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findGroupCoordinator(request: { groupId: string; coordinatorType: number }): Promise<InternalBroker>;
  fetchTopicsOffset(topics: { topic: string; partitions: { partition: number }[]; fromBeginning: boolean }[]): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
}

/** kafkajs `src/producer/eosManager`. */
interface InternalEosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  getProducerId(): string;
  getProducerEpoch(): number;
}

type CreateCluster = (options: { allowAutoTopicCreation?: boolean; maxInFlightRequests?: number | null; isolationLevel?: number; metadataMaxAge?: number }) => InternalCluster;
type SendMessages = (request: { acks: number; timeout?: number; compression: CompressionTypes; topicMessages: { topic: string; messages: Message[] }[] }) => Promise<unknown>;

const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as (options: { logger: unknown; cluster: InternalCluster; transactionTimeout: number; transactional: boolean; transactionalId: string }) => InternalEosManager;
const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as (options: { logger: unknown; cluster: InternalCluster; partitioner: unknown; eosManager: InternalEosManager; retrier: unknown }) => SendMessages;
const createRetry = require('kafkajs/src/retry/index.js') as (options: unknown) => unknown;
const { DefaultPartitioner } = require('kafkajs/src/producer/partitioners/index.js') as { DefaultPartitioner: () => unknown };
const COORDINATOR_TYPES = require('kafkajs/src/protocol/coordinatorTypes.js') as { TRANSACTION: number };

/** The isolation levels of ListOffsets (kafkajs `src/protocol/isolationLevel`). */
export const ISOLATION = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;

function privateMember<T>(kafka: Kafka, description: string): T {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === description);
  const value = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (value === undefined) throw new SinkError(`kafkajs has no ${description} (the exactly-once Kafka sink needs kafkajs 2.2.4, see processor/sinks/kafka/transactions.ts)`);
  return value as T;
}

/** A cluster connection of kafkajs with this client's settings (brokers, TLS, SASL). */
export function internalCluster(kafka: Kafka, options: { isolationLevel?: number } = {}): { cluster: InternalCluster; logger: unknown } {
  const createCluster = privateMember<CreateCluster>(kafka, 'private:Kafka:createCluster');
  const logger = privateMember<{ namespace(name: string): unknown }>(kafka, 'private:Kafka:logger');
  return { cluster: createCluster({ allowAutoTopicCreation: false, maxInFlightRequests: 1, ...options }), logger: logger.namespace('TransactionalProducer') };
}

/** What names one transaction: enough for any process to commit or abort it. */
export interface TransactionHandle {
  readonly transactionalId: string;
  /** The producer id (an int64, as a decimal string). */
  readonly producerId: string;
  readonly producerEpoch: number;
}

/** The transaction can no longer be committed: the broker aborted it, or its id was re-initialised. */
export class TransactionLostError extends SinkError {
  readonly transactionalId: string;
  constructor(handle: TransactionHandle, reason: string, cause: unknown) {
    super(`Kafka transaction ${handle.transactionalId} (producer ${handle.producerId}, epoch ${handle.producerEpoch}) cannot be committed: ${reason}`, { cause, retriable: false });
    this.transactionalId = handle.transactionalId;
  }
}

/** Protocol errors of the transaction coordinator worth another attempt. */
const RETRIABLE_COORDINATOR_ERRORS = new Set(['CONCURRENT_TRANSACTIONS', 'COORDINATOR_LOAD_IN_PROGRESS', 'GROUP_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'NOT_COORDINATOR_FOR_GROUP', 'REQUEST_TIMED_OUT']);
/** EndTxn answers that mean the transaction's epoch is gone (the broker bumps it when it aborts a timed-out transaction, and InitProducerId bumps it). */
const FENCED_ERRORS = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_TXN_STATE', 'INVALID_PRODUCER_ID_MAPPING']);

function errorType(error: unknown): string | undefined {
  const type = (error as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : undefined;
}

function retriableKafkaError(error: unknown): boolean {
  const type = errorType(error);
  if (type !== undefined) return RETRIABLE_COORDINATOR_ERRORS.has(type);
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'KafkaJSConnectionError' || name === 'KafkaJSConnectionClosedError' || name === 'KafkaJSRequestTimeoutError' || name === 'KafkaJSNumberOfRetriesExceeded' || name === 'KafkaJSGroupCoordinatorNotFound';
}

/** One open transaction of a transactional id, written through the shared cluster connection. */
export class OpenTransaction {
  readonly #eos: InternalEosManager;
  readonly #send: SendMessages;
  readonly transactionalId: string;
  /** Records sent in it so far. */
  records = 0;

  constructor(transactionalId: string, eos: InternalEosManager, send: SendMessages) {
    this.transactionalId = transactionalId;
    this.#eos = eos;
    this.#send = send;
  }

  /** The transaction's name for commit or abort by any process. */
  get handle(): TransactionHandle {
    return { transactionalId: this.transactionalId, producerId: this.#eos.getProducerId(), producerEpoch: this.#eos.getProducerEpoch() };
  }

  /** Sends records in the transaction (adding their partitions to it first); resolves when all in-sync replicas have them. */
  async send(topic: string, messages: Message[], compression: CompressionTypes): Promise<void> {
    await this.#send({ acks: -1, compression, topicMessages: [{ topic, messages }] });
    this.records += messages.length;
  }
}

/**
 * Begins, commits and aborts transactions by transactional id over one cluster connection. Each
 * transaction gets its own producer id and epoch (one InitProducerId per transactional id).
 */
export class TransactionalProducer {
  readonly #cluster: InternalCluster;
  readonly #logger: unknown;
  readonly #retrier: unknown;
  readonly #transactionTimeoutMs: number;

  constructor(kafka: Kafka, options: { transactionTimeoutMs: number }) {
    const { cluster, logger } = internalCluster(kafka);
    this.#cluster = cluster;
    this.#logger = logger;
    this.#retrier = createRetry(cluster.retry);
    this.#transactionTimeoutMs = options.transactionTimeoutMs;
  }

  async connect(): Promise<void> {
    await this.#cluster.connect();
  }

  async disconnect(): Promise<void> {
    await this.#cluster.disconnect();
  }

  /**
   * Initialises `transactionalId` (fencing any earlier producer of it and aborting its open
   * transaction) and begins a transaction on it.
   */
  async begin(transactionalId: string): Promise<OpenTransaction> {
    const eos = createEosManager({ logger: this.#logger, cluster: this.#cluster, transactionTimeout: this.#transactionTimeoutMs, transactional: true, transactionalId });
    try {
      await eos.initProducerId();
    } catch (error) {
      throw new SinkError(`could not initialise Kafka transactional id ${transactionalId} (transaction timeout ${this.#transactionTimeoutMs} ms): ${describeError(error)}`, { cause: error, retriable: errorType(error) !== 'INVALID_TRANSACTION_TIMEOUT' });
    }
    eos.beginTransaction();
    const send = createSendMessages({ logger: this.#logger, cluster: this.#cluster, partitioner: DefaultPartitioner(), eosManager: eos, retrier: this.#retrier });
    return new OpenTransaction(transactionalId, eos, send);
  }

  /**
   * Fences `transactionalId` with an InitProducerId, which aborts its open transaction if it has
   * one. Returns the new epoch: 0 means the id had never been initialised.
   */
  async fence(transactionalId: string): Promise<number> {
    return retry(
      async () => {
        const coordinator = await this.#cluster.findGroupCoordinator({ groupId: transactionalId, coordinatorType: COORDINATOR_TYPES.TRANSACTION });
        const result = await coordinator.initProducerId({ transactionalId, transactionTimeout: this.#transactionTimeoutMs });
        return result.producerEpoch;
      },
      { retryOn: retriableKafkaError, maxAttempts: 20, maxDelayMs: 2000 },
    ).catch((error: unknown) => {
      throw new SinkError(`could not fence Kafka transactional id ${transactionalId}: ${describeError(error)}`, { cause: error, retriable: true });
    });
  }

  /**
   * Commits (or aborts) the transaction `handle` names with an EndTxn to its coordinator.
   * Committing an already committed transaction again succeeds (the coordinator answers a repeated
   * EndTxn of the same epoch and result with no error). Throws `TransactionLostError` when the
   * epoch is gone: the broker aborted the transaction (its timeout passed) or the id was re-initialised.
   */
  async end(handle: TransactionHandle, commit: boolean): Promise<void> {
    try {
      await retry(
        async () => {
          const coordinator = await this.#cluster.findGroupCoordinator({ groupId: handle.transactionalId, coordinatorType: COORDINATOR_TYPES.TRANSACTION });
          await coordinator.endTxn({ transactionalId: handle.transactionalId, producerId: handle.producerId, producerEpoch: handle.producerEpoch, transactionResult: commit });
        },
        { retryOn: retriableKafkaError, maxAttempts: 20, maxDelayMs: 2000 },
      );
    } catch (error) {
      const type = errorType(error);
      if (commit && type !== undefined && FENCED_ERRORS.has(type)) {
        throw new TransactionLostError(handle, `the broker answered ${type}: it aborted the transaction (its transaction timeout of ${this.#transactionTimeoutMs} ms passed before the commit) or the id was initialised again; its records are lost`, error);
      }
      throw new SinkError(`could not ${commit ? 'commit' : 'abort'} Kafka transaction ${handle.transactionalId}: ${describeError(error)}`, { cause: error, retriable: true });
    }
  }
}
