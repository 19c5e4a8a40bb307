/**
 * Checkpoints in DynamoDB, one item per application (partition key `key`). Ownership is a lease
 * counter on the item: `acquire` bumps it, and every `persist` is a conditional write that fails
 * when the counter moved on (another worker took over: fencing) or when the checkpoint id does not
 * advance. The state (positions and pending commits) is stored gzip-compressed, so hundreds of
 * pending part files fit the 400 KB item limit. Registered uploads are a string set (`uploads`) on
 * the same item, changed under the same lease condition.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { baseClientConfig } from '../../common/aws.js';
import { retry } from '../../common/retry.js';
import type { CheckpointData, CheckpointStore, Lease } from './types.js';
import { CheckpointError, FencedError } from './errors.js';

/** Options of the DynamoDB checkpoint store. */
export interface DynamoDbCheckpointStoreOptions {
  readonly table: string;
  /** The item key: the application name. */
  readonly key: string;
  readonly region?: string;
  /** An existing client (tests, shared connection pools); one is created otherwise. */
  readonly client?: DynamoDBClient;
}

/** DynamoDB-backed checkpoint store with lease-counter fencing. */
export class DynamoDbCheckpointStore implements CheckpointStore {
  readonly description: string;
  readonly #client: DynamoDBClient;
  readonly #ownsClient: boolean;
  readonly #table: string;
  readonly #key: string;

  constructor(options: DynamoDbCheckpointStoreOptions) {
    this.#table = options.table;
    this.#key = options.key;
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new DynamoDBClient(baseClientConfig(options.region ? { region: options.region } : {}));
    this.description = `dynamodb:${options.table}/${options.key}`;
  }

  async acquire(owner: string): Promise<{ lease: Lease; last?: CheckpointData; registeredUploads: readonly string[] }> {
    try {
      return await retry(async () => {
        const current = await this.#client.send(
          new GetItemCommand({ TableName: this.#table, Key: { key: { S: this.#key } }, ConsistentRead: true }),
        );
        const item = current.Item;
        const previous = item?.leaseCounter?.N !== undefined ? Number(item.leaseCounter.N) : undefined;
        const counter = (previous ?? 0) + 1;
        try {
          await this.#client.send(
            new UpdateItemCommand({
              TableName: this.#table,
              Key: { key: { S: this.#key } },
              UpdateExpression: 'SET leaseOwner = :owner, leaseCounter = :counter, leaseTakenAt = :now',
              ConditionExpression: previous === undefined ? 'attribute_not_exists(leaseCounter)' : 'leaseCounter = :previous',
              ExpressionAttributeValues: {
                ':owner': { S: owner },
                ':counter': { N: String(counter) },
                ':now': { S: new Date().toISOString() },
                ...(previous === undefined ? {} : { ':previous': { N: String(previous) } }),
              },
            }),
          );
        } catch (error) {
          // Another worker bumped the counter between our read and write: read again and retry.
          if (error instanceof ConditionalCheckFailedException) throw new CheckpointError('lease changed while acquiring', { cause: error, retriable: true });
          throw error;
        }
        const state = item?.state?.B;
        const last = state ? (JSON.parse(gunzipSync(state).toString('utf8')) as CheckpointData) : undefined;
        return { lease: { owner, counter }, ...(last ? { last } : {}), registeredUploads: item?.uploads?.SS ?? [] };
      });
    } catch (error) {
      throw new CheckpointError(`could not acquire the checkpoint lease in ${this.description}`, { cause: error });
    }
  }

  async persist(lease: Lease, data: CheckpointData): Promise<void> {
    await this.#updateUnderLease(lease, {
      update: 'SET checkpointId = :id, #state = :state, updatedAt = :now',
      condition: '(attribute_not_exists(checkpointId) OR checkpointId < :id)',
      names: { '#state': 'state' },
      values: {
        ':id': { N: String(data.checkpointId) },
        ':state': { B: gzipSync(Buffer.from(JSON.stringify(data), 'utf8')) },
        ':now': { S: new Date().toISOString() },
      },
      fenced: `checkpoint ${data.checkpointId} rejected by ${this.description}: lease ${lease.owner}/${lease.counter} was taken over or the id did not advance`,
      failed: `could not persist checkpoint ${data.checkpointId} to ${this.description}`,
    });
  }

  async registerUploads(lease: Lease, entries: readonly string[]): Promise<void> {
    await this.#changeUploads(lease, 'ADD', entries);
  }

  async forgetUploads(lease: Lease, entries: readonly string[]): Promise<void> {
    await this.#changeUploads(lease, 'DELETE', entries);
  }

  async #changeUploads(lease: Lease, action: 'ADD' | 'DELETE', entries: readonly string[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#updateUnderLease(lease, {
      update: `${action} uploads :entries`,
      values: { ':entries': { SS: [...new Set(entries)] } },
      fenced: `upload registry of ${this.description}: lease ${lease.owner}/${lease.counter} was taken over`,
      failed: `could not ${action === 'ADD' ? 'register' : 'forget'} ${entries.length} uploads in ${this.description}`,
    });
  }

  /** One UpdateItem on the item, conditional on `lease` still being held: FencedError when it is not. */
  async #updateUnderLease(
    lease: Lease,
    o: {
      update: string;
      condition?: string;
      names?: Record<string, string>;
      values: Record<string, AttributeValue>;
      fenced: string;
      failed: string;
    },
  ): Promise<void> {
    try {
      await retry(() =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { key: { S: this.#key } },
            UpdateExpression: o.update,
            ConditionExpression: `leaseOwner = :owner AND leaseCounter = :counter${o.condition ? ` AND ${o.condition}` : ''}`,
            ...(o.names ? { ExpressionAttributeNames: o.names } : {}),
            ExpressionAttributeValues: { ...o.values, ':owner': { S: lease.owner }, ':counter': { N: String(lease.counter) } },
          }),
        ),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new FencedError(o.fenced, { cause: error });
      throw new CheckpointError(o.failed, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }
}
