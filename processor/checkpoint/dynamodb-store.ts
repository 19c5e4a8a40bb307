/**
 * The lease table in DynamoDB (see ./types.ts). Keys: partition key `application` (the application
 * name, so several applications can share a table), sort key `leaseKey`:
 * `lease/<partition>`, `run/<runId>`, `commit/<runId>/<checkpointId>`. Leases are read with one
 * Query per listing; a checkpoint is one TransactWriteItems: a Put of the commit record (gzip'd), an
 * Update per lease conditioned on owner and counter, and a ConditionCheck that the run is active.
 * Committed records get `expiresAt` (TTL) and disappear after a week.
 *
 * DynamoDB caps an item at 400 KB. A commit record holds every upload of the interval (about 140
 * bytes each once gzip'd, with upload ids as long as S3's), so thousands of part files per
 * interval would not fit: a gzip'd state above {@link INLINE_STATE_MAX_BYTES} is written as chunk
 * items `chunk/<runId>/<checkpointId>/<n>` before the transaction, and the commit record names
 * their count, total size and SHA-256 instead of holding the state. The chunks are outside the
 * transaction (it stays within its 100 items and 4 MB) and never referenced until it succeeds;
 * they carry a TTL of {@link CHUNK_TTL_S} from their writing, longer than the bucket keeps an
 * incomplete upload (7 days), so chunks of a checkpoint that was never persisted go away and
 * those of a persisted one outlive the uploads they describe. A record whose chunks are missing,
 * or do not add up to its size and digest, is refused with a CheckpointError, never guessed.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type {
  TransactionCanceledException} from '@aws-sdk/client-dynamodb';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  type TransactWriteItem,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { baseClientConfig } from '../../common/aws.js';
import { retry } from '../../common/retry.js';
import { commitRef, type CommitRecord, type HeldLease, type LeaseCheckpoint, type LeaseItem, type LeaseStore, type RunItem } from './types.js';
import { CheckpointError, FencedError } from './errors.js';

/** Options of the DynamoDB lease store. */
export interface DynamoDbLeaseStoreOptions {
  readonly table: string;
  /** The application name: the partition key of every item. */
  readonly application: string;
  readonly region?: string;
  /** An existing client (tests); one is created otherwise. */
  readonly client?: DynamoDBClient;
}

const LEASE = 'lease/';
const RUN = 'run/';
const COMMIT = 'commit/';
const CHUNK = 'chunk/';
const WEEK_S = 7 * 24 * 3600;
/** The largest gzip'd state kept in the commit record itself (the item limit is 400 KB, keys and other attributes included). */
export const INLINE_STATE_MAX_BYTES = 350_000;
/** The state bytes of one chunk item. */
const CHUNK_BYTES = 350_000;
/** How long a chunk item lives from its writing (seconds): 30 days. */
const CHUNK_TTL_S = 30 * 24 * 3600;

/** Where the state of a chunked commit record is. */
interface ChunkedState {
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

function parseLease(item: Record<string, AttributeValue>): LeaseItem {
  return {
    partition: item.leaseKey!.S!.slice(LEASE.length),
    ...(item.leaseOwner?.S ? { owner: item.leaseOwner.S } : {}),
    counter: Number(item.leaseCounter?.N ?? '0'),
    checkpoint: item.checkpoint?.S ?? '',
    parents: item.parentShardIds?.L?.map((v) => v.S ?? '') ?? [],
    ...(item.pendingRef?.S ? { pendingRef: item.pendingRef.S } : {}),
    ...(item.takeRequestedBy?.S ? { takeRequestedBy: item.takeRequestedBy.S } : {}),
  };
}

function parseCommit(item: Record<string, AttributeValue>, state: Uint8Array | undefined): CommitRecord {
  const ref = item.leaseKey!.S!;
  return {
    ref,
    runId: item.runId?.S ?? '',
    checkpointId: Number(item.checkpointId?.N ?? '0'),
    pending: state ? (JSON.parse(gunzipSync(state).toString('utf8')) as Record<string, unknown>) : {},
    committed: item.committed?.BOOL === true,
  };
}

/** The chunk layout a commit record names, if its state is chunked. */
function chunkedState(item: Record<string, AttributeValue>): ChunkedState | undefined {
  if (item.stateChunks?.N === undefined) return undefined;
  return { chunks: Number(item.stateChunks.N), bytes: Number(item.stateBytes?.N ?? '-1'), sha256: item.stateSha256?.S ?? '' };
}

/** The key prefix of the chunks of commit record `ref` (`commit/<runId>/<checkpointId>`). */
function chunkPrefix(ref: string): string {
  return `${CHUNK}${ref.slice(COMMIT.length)}/`;
}

/** DynamoDB-backed lease store. */
export class DynamoDbLeaseStore implements LeaseStore {
  readonly description: string;
  readonly #client: DynamoDBClient;
  readonly #ownsClient: boolean;
  readonly #table: string;
  readonly #app: string;

  constructor(options: DynamoDbLeaseStoreOptions) {
    this.#table = options.table;
    this.#app = options.application;
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new DynamoDBClient(baseClientConfig(options.region ? { region: options.region } : {}));
    this.description = `dynamodb:${options.table}/${options.application}`;
  }

  #key(sort: string): Record<string, AttributeValue> {
    return { application: { S: this.#app }, leaseKey: { S: sort } };
  }

  /** Sends with the one retry layer; a failed condition is returned as `false`, never retried. */
  async #conditional(what: string, command: UpdateItemCommand | PutItemCommand): Promise<boolean> {
    try {
      await retry(async (bail) => {
        try {
          // Both command types share the client's send; the union needs a cast for the overloads.
          await this.#client.send(command as UpdateItemCommand);
        } catch (error) {
          if (isConditionFailure(error)) bail(error);
          throw error;
        }
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new CheckpointError(`${what} in ${this.description} failed`, { cause: error });
    }
  }

  async #query(prefix: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    try {
      do {
        const exclusive = start;
        const page = await retry(() =>
          this.#client.send(
            new QueryCommand({
              TableName: this.#table,
              KeyConditionExpression: 'application = :a AND begins_with(leaseKey, :p)',
              ExpressionAttributeValues: { ':a': { S: this.#app }, ':p': { S: prefix } },
              ConsistentRead: true,
              ...(exclusive ? { ExclusiveStartKey: exclusive } : {}),
            }),
          ),
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (error) {
      throw new CheckpointError(`could not list ${prefix}* in ${this.description}`, { cause: error });
    }
    return items;
  }

  async registerRun(runId: string): Promise<void> {
    const ok = await this.#conditional(
      `registering run ${runId}`,
      new PutItemCommand({
        TableName: this.#table,
        Item: { ...this.#key(RUN + runId), runCounter: { N: '1' }, runStatus: { S: 'active' }, startedAt: { S: new Date().toISOString() } },
        ConditionExpression: 'attribute_not_exists(leaseKey)',
      }),
    );
    if (!ok) throw new CheckpointError(`run ${runId} already exists in ${this.description}`);
  }

  async heartbeatRun(runId: string): Promise<void> {
    const ok = await this.#conditional(
      `heartbeat of run ${runId}`,
      new UpdateItemCommand({
        TableName: this.#table,
        Key: this.#key(RUN + runId),
        UpdateExpression: 'ADD runCounter :one',
        ConditionExpression: 'runStatus = :active',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':active': { S: 'active' } },
      }),
    );
    if (!ok) throw new FencedError(`run ${runId} was declared dead by another worker (its heartbeats stopped for longer than the lease duration)`);
  }

  async listRuns(): Promise<RunItem[]> {
    return (await this.#query(RUN)).map((item) => ({
      runId: item.leaseKey!.S!.slice(RUN.length),
      counter: Number(item.runCounter?.N ?? '0'),
      status: item.runStatus?.S === 'dead' ? 'dead' : 'active',
    }));
  }

  async fenceRun(runId: string, observedCounter: number): Promise<boolean> {
    return this.#conditional(
      `fencing run ${runId}`,
      new UpdateItemCommand({
        TableName: this.#table,
        Key: this.#key(RUN + runId),
        UpdateExpression: 'SET runStatus = :dead',
        ConditionExpression: 'runCounter = :c AND runStatus = :active',
        ExpressionAttributeValues: { ':dead': { S: 'dead' }, ':c': { N: String(observedCounter) }, ':active': { S: 'active' } },
      }),
    );
  }

  async deleteRun(runId: string): Promise<void> {
    try {
      await retry(() => this.#client.send(new DeleteItemCommand({ TableName: this.#table, Key: this.#key(RUN + runId) })));
    } catch (error) {
      throw new CheckpointError(`could not delete run ${runId} from ${this.description}`, { cause: error });
    }
  }

  async listLeases(): Promise<LeaseItem[]> {
    return (await this.#query(LEASE)).map(parseLease);
  }

  async createLease(partition: string, parents: readonly string[], checkpoint: string): Promise<boolean> {
    return this.#conditional(
      `creating the lease of ${partition}`,
      new PutItemCommand({
        TableName: this.#table,
        Item: {
          ...this.#key(LEASE + partition),
          leaseCounter: { N: '0' },
          checkpoint: { S: checkpoint },
          parentShardIds: { L: parents.map((p) => ({ S: p })) },
        },
        ConditionExpression: 'attribute_not_exists(leaseKey)',
      }),
    );
  }

  async takeLease(observed: LeaseItem, runId: string): Promise<{ held: HeldLease; item: LeaseItem } | undefined> {
    const counter = observed.counter + 1;
    const ok = await this.#conditional(
      `taking the lease of ${observed.partition}`,
      new UpdateItemCommand({
        TableName: this.#table,
        Key: this.#key(LEASE + observed.partition),
        UpdateExpression: 'SET leaseOwner = :me, leaseCounter = :next REMOVE takeRequestedBy',
        ConditionExpression: 'leaseCounter = :seen',
        ExpressionAttributeValues: { ':me': { S: runId }, ':next': { N: String(counter) }, ':seen': { N: String(observed.counter) } },
      }),
    );
    if (!ok) return undefined;
    const { takeRequestedBy: _dropped, ...rest } = observed;
    return { held: { partition: observed.partition, counter }, item: { ...rest, owner: runId, counter } };
  }

  async claimLease(partition: string, runId: string, initialCheckpoint: string): Promise<{ held: HeldLease; item: LeaseItem }> {
    try {
      const out = await retry(() =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: this.#key(LEASE + partition),
            UpdateExpression: 'SET leaseOwner = :me, checkpoint = if_not_exists(checkpoint, :initial), parentShardIds = if_not_exists(parentShardIds, :none) ADD leaseCounter :one REMOVE takeRequestedBy',
            ExpressionAttributeValues: { ':me': { S: runId }, ':initial': { S: initialCheckpoint }, ':none': { L: [] }, ':one': { N: '1' } },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      const item = parseLease(out.Attributes!);
      return { held: { partition, counter: item.counter }, item };
    } catch (error) {
      throw new CheckpointError(`could not claim the lease of ${partition} in ${this.description}`, { cause: error });
    }
  }

  async renewLease(lease: HeldLease, runId: string): Promise<{ takeRequestedBy?: string }> {
    const next = lease.counter + 1;
    try {
      const out = await retry(async (bail) => {
        try {
          return await this.#client.send(
            new UpdateItemCommand({
              TableName: this.#table,
              Key: this.#key(LEASE + lease.partition),
              UpdateExpression: 'SET leaseCounter = :next',
              ConditionExpression: 'leaseOwner = :me AND leaseCounter = :held',
              ExpressionAttributeValues: { ':me': { S: runId }, ':next': { N: String(next) }, ':held': { N: String(lease.counter) } },
              ReturnValues: 'ALL_NEW',
            }),
          );
        } catch (error) {
          if (isConditionFailure(error)) bail(error);
          throw error;
        }
      });
      lease.counter = next;
      const requester = out.Attributes?.takeRequestedBy?.S;
      return requester ? { takeRequestedBy: requester } : {};
    } catch (error) {
      if (isConditionFailure(error)) throw new FencedError(`the lease of ${lease.partition} was taken by another worker`, { cause: error });
      throw new CheckpointError(`could not renew the lease of ${lease.partition} in ${this.description}`, { cause: error });
    }
  }

  async releaseLease(lease: HeldLease, runId: string): Promise<void> {
    const ok = await this.#conditional(
      `releasing the lease of ${lease.partition}`,
      new UpdateItemCommand({
        TableName: this.#table,
        Key: this.#key(LEASE + lease.partition),
        UpdateExpression: 'SET leaseCounter = :next REMOVE leaseOwner, takeRequestedBy',
        ConditionExpression: 'leaseOwner = :me AND leaseCounter = :held',
        ExpressionAttributeValues: { ':me': { S: runId }, ':next': { N: String(lease.counter + 1) }, ':held': { N: String(lease.counter) } },
      }),
    );
    if (!ok) throw new FencedError(`the lease of ${lease.partition} was taken by another worker before it was released`);
    lease.counter += 1;
  }

  async requestTake(partition: string, owner: string, requester: string): Promise<boolean> {
    return this.#conditional(
      `asking for the lease of ${partition}`,
      new UpdateItemCommand({
        TableName: this.#table,
        Key: this.#key(LEASE + partition),
        UpdateExpression: 'SET takeRequestedBy = :r',
        ConditionExpression: 'leaseOwner = :o AND attribute_not_exists(takeRequestedBy)',
        ExpressionAttributeValues: { ':r': { S: requester }, ':o': { S: owner } },
      }),
    );
  }

  async persist(
    runId: string,
    checkpointId: number,
    leases: readonly LeaseCheckpoint[],
    pending: Readonly<Record<string, unknown>> | undefined,
  ): Promise<string | undefined> {
    const ref = pending ? commitRef(runId, checkpointId) : undefined;
    const items: TransactWriteItem[] = [];
    if (ref && pending) {
      const gzipped = gzipSync(Buffer.from(JSON.stringify(pending), 'utf8'));
      const stateAttributes: Record<string, AttributeValue> =
        gzipped.length <= INLINE_STATE_MAX_BYTES ? { state: { B: gzipped } } : await this.#writeChunks(ref, gzipped);
      items.push({
        Put: {
          TableName: this.#table,
          Item: {
            ...this.#key(ref),
            runId: { S: runId },
            checkpointId: { N: String(checkpointId) },
            committed: { BOOL: false },
            ...stateAttributes,
            createdAt: { S: new Date().toISOString() },
          },
          ConditionExpression: 'attribute_not_exists(leaseKey)',
        },
      });
    }
    for (const { lease, position } of leases) {
      items.push({
        Update: {
          TableName: this.#table,
          Key: this.#key(LEASE + lease.partition),
          UpdateExpression: ref ? 'SET checkpoint = :pos, pendingRef = :ref' : 'SET checkpoint = :pos REMOVE pendingRef',
          ConditionExpression: 'leaseOwner = :me AND leaseCounter = :held',
          ExpressionAttributeValues: {
            ':pos': { S: position },
            ':me': { S: runId },
            ':held': { N: String(lease.counter) },
            ...(ref ? { ':ref': { S: ref } } : {}),
          },
        },
      });
    }
    items.push({
      ConditionCheck: {
        TableName: this.#table,
        Key: this.#key(RUN + runId),
        ConditionExpression: 'runStatus = :active',
        ExpressionAttributeValues: { ':active': { S: 'active' } },
      },
    });
    try {
      await retry(async (bail) => {
        try {
          await this.#client.send(new TransactWriteItemsCommand({ TransactItems: items }));
        } catch (error) {
          const reasons = (error as TransactionCanceledException).CancellationReasons;
          if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) bail(error);
          throw error;
        }
      });
      return ref;
    } catch (error) {
      const reasons = (error as TransactionCanceledException).CancellationReasons;
      if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) {
        const offset = ref ? 1 : 0;
        const lost = leases.filter((_, i) => reasons[i + offset]?.Code === 'ConditionalCheckFailed').map((l) => l.lease.partition);
        const runDead = reasons[items.length - 1]?.Code === 'ConditionalCheckFailed';
        throw new FencedError(
          `checkpoint ${checkpointId} of run ${runId} rejected by ${this.description}: ${runDead ? 'the run was declared dead by another worker' : `leases taken over by another worker: ${lost.join(', ')}`}`,
          { cause: error },
        );
      }
      throw new CheckpointError(`could not persist checkpoint ${checkpointId} to ${this.description}`, { cause: error });
    }
  }

  /**
   * Writes a gzip'd state too large for the commit record as chunk items (plain puts, before the
   * transaction); returns the commit record's attributes that name them.
   */
  async #writeChunks(ref: string, gzipped: Buffer): Promise<Record<string, AttributeValue>> {
    const prefix = chunkPrefix(ref);
    const expiresAt = String(Math.floor(Date.now() / 1000) + CHUNK_TTL_S);
    const count = Math.ceil(gzipped.length / CHUNK_BYTES);
    for (let n = 0; n < count; n += 1) {
      const data = gzipped.subarray(n * CHUNK_BYTES, Math.min(gzipped.length, (n + 1) * CHUNK_BYTES));
      try {
        await retry(() =>
          this.#client.send(
            new PutItemCommand({ TableName: this.#table, Item: { ...this.#key(`${prefix}${String(n).padStart(6, '0')}`), data: { B: data }, expiresAt: { N: expiresAt } } }),
          ),
        );
      } catch (error) {
        throw new CheckpointError(`could not write chunk ${n + 1} of ${count} of commit record ${ref} (${gzipped.length} bytes gzip'd) to ${this.description}`, { cause: error });
      }
    }
    return { stateChunks: { N: String(count) }, stateBytes: { N: String(gzipped.length) }, stateSha256: { S: sha256(gzipped) } };
  }

  /** The gzip'd state of a commit record item: inline, or reassembled from its chunks and checked against its size and digest. */
  async #state(item: Record<string, AttributeValue>): Promise<Uint8Array | undefined> {
    const layout = chunkedState(item);
    if (layout === undefined) return item.state?.B;
    const ref = item.leaseKey!.S!;
    const chunks = (await this.#query(chunkPrefix(ref))).map((c) => c.data?.B ?? new Uint8Array());
    const state = Buffer.concat(chunks);
    if (chunks.length !== layout.chunks || state.length !== layout.bytes || sha256(state) !== layout.sha256) {
      throw new CheckpointError(
        `commit record ${ref} in ${this.description} names ${layout.chunks} chunks of ${layout.bytes} bytes in all, ` +
          `but ${chunks.length} chunks of ${state.length} bytes ${chunks.length === layout.chunks && state.length === layout.bytes ? 'with another SHA-256 ' : ''}were found`,
      );
    }
    return state;
  }

  async loadCommit(ref: string): Promise<CommitRecord | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      item = (await retry(() => this.#client.send(new GetItemCommand({ TableName: this.#table, Key: this.#key(ref), ConsistentRead: true })))).Item;
    } catch (error) {
      throw new CheckpointError(`could not read commit record ${ref} from ${this.description}`, { cause: error });
    }
    return item ? parseCommit(item, await this.#state(item)) : undefined;
  }

  async listCommits(runId: string): Promise<CommitRecord[]> {
    const records: CommitRecord[] = [];
    for (const item of await this.#query(`${COMMIT}${runId}/`)) records.push(parseCommit(item, await this.#state(item)));
    return records;
  }

  async markCommitted(ref: string): Promise<void> {
    await this.#conditional(
      `marking ${ref} committed`,
      new UpdateItemCommand({
        TableName: this.#table,
        Key: this.#key(ref),
        UpdateExpression: 'SET committed = :t, expiresAt = :exp',
        ConditionExpression: 'attribute_exists(leaseKey)',
        ExpressionAttributeValues: { ':t': { BOOL: true }, ':exp': { N: String(Math.floor(Date.now() / 1000) + WEEK_S) } },
      }),
    );
  }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }
}
