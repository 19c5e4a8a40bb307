/**
 * The OpenSearch sink: each valid event becomes one document, in the index an event field names
 * (after a prefix) and with the id another field holds. It is effectively-once without a two-phase
 * commit, by optimistic concurrency: each document stores the source-order key of the event that
 * wrote it (`etl_order`, see `orderKey`). A document is first sent as a `create`, which only an
 * absent document takes; one that exists (409) is read (one `_mget` for all of them, with its
 * order key, `_seq_no` and `_primary_term`), dropped when the stored event is not older, and
 * otherwise written with `if_seq_no`/`if_primary_term`, so a write that loses a race (409 again)
 * is read and decided again. So a record
 * replayed after a crash, or written by a run that lost its lease, never creates a second
 * document, never overwrites a newer one, and changes no version. (A scripted upsert would save
 * the read, but needs Painless, which neither the integ-test node nor every managed offering has.)
 *
 * Writes are buffered into bulk requests bounded by the three flush properties (actions, bytes,
 * age) and flushed at every pre-commit, so a checkpoint covers them. Whole requests answered 429
 * or 5xx, connection failures, and items answered 429, 5xx or 409 are retried with backoff (only
 * the failed items); items the node refuses for good (mapping and parse errors, bad index names)
 * go to the dead letters with the node's reason.
 */
import type { Client } from '@opensearch-project/opensearch';
import { errors } from '@opensearch-project/opensearch';
import type { Bulk_RequestBody } from '@opensearch-project/opensearch/api/_core/bulk.js';
import { ConfigError, describeError } from '../../../common/errors.js';
import type { Logger } from '../../../common/log.js';
import { backoffDelay, sleep } from '../../../common/retry.js';
import type { OpenSearchSinkConfig } from '../../config/types.js';
import type { EventSchema } from '../../formats/types.js';
import type { Sink, SinkContext, SinkRecord } from '../../lifecycle.js';
import { createOpenSearchClient, type SigningCredentials } from './client.js';
import { DocumentEncoder, mappingFor, ORDER_FIELD, orderKey } from './documents.js';
import { awsSigningFor } from './endpoint.js';
import { OpenSearchSinkError } from './errors.js';

/** Counters of the sink, for logs and tests. */
export interface OpenSearchSinkStats {
  /** Documents created. */
  readonly created: number;
  /** Documents replaced by a later event. */
  readonly updated: number;
  /** Writes that changed nothing: a replay, or an event older than the document. */
  readonly unchanged: number;
  /** Events sent to the dead letters. */
  readonly rejected: number;
  /** Bulk requests sent (retries included). */
  readonly bulkRequests: number;
  /** Retries: of whole requests, and rounds that re-sent failed items. */
  readonly retries: number;
}

/** How the sink is built. */
export interface OpenSearchSinkOptions {
  readonly config: OpenSearchSinkConfig;
  readonly schema: EventSchema;
  /** A ready client (tests); default: one for the endpoint, signed when it is AWS-managed. */
  readonly client?: Client;
  /** Credentials for signing. @default the AWS SDK's default chain */
  readonly getCredentials?: () => Promise<SigningCredentials>;
  /** Gives up (a fatal error) when a batch has been retried for this long (ms). @default 600000 */
  readonly retryTimeoutMs?: number;
  /** The longest backoff between retries (ms). @default 10000 */
  readonly maxBackoffMs?: number;
}

interface Action {
  readonly record: SinkRecord;
  readonly index: string;
  readonly id: string;
  readonly order: string;
  /** The document's JSON text. */
  readonly doc: string;
  /** Its size in a bulk request (action line and document). */
  readonly bytes: number;
}

interface Stored {
  readonly found: boolean;
  readonly order?: string;
  readonly seqNo?: number;
  readonly primaryTerm?: number;
  /** Why it could not be read (retried). */
  readonly error?: string;
}

interface BulkItemResult {
  readonly status?: number;
  readonly result?: string;
  readonly error?: { readonly type?: string; readonly reason?: string; readonly caused_by?: { readonly type?: string; readonly reason?: string } };
}

/** Writes events into OpenSearch, effectively once. */
export class OpenSearchSink implements Sink<never> {
  readonly name = 'opensearch';
  readonly #config: OpenSearchSinkConfig;
  readonly #schema: EventSchema;
  readonly #client: Client;
  readonly #encoder: DocumentEncoder;
  readonly #indexField: number;
  readonly #idField: number;
  readonly #retryTimeoutMs: number;
  readonly #maxBackoffMs: number;
  readonly #abort = new AbortController();
  #context: SinkContext | undefined;
  #log: Logger | undefined;
  /** Index name -> undefined when ready, or the reason it cannot be created. */
  readonly #indices = new Map<string, string | undefined>();
  #buffer: Action[] = [];
  #bufferBytes = 0;
  #oldestMs = 0;
  #lock: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #failure: unknown;
  #stats = { created: 0, updated: 0, unchanged: 0, rejected: 0, bulkRequests: 0, retries: 0 };

  constructor(options: OpenSearchSinkOptions) {
    const { config, schema } = options;
    this.#config = config;
    this.#schema = schema;
    const names = schema.fields.map((f) => f.name);
    this.#indexField = names.indexOf(config.indexField);
    this.#idField = names.indexOf(config.documentIdField);
    const problems: string[] = [];
    if (this.#indexField < 0) problems.push(`ElasticsearchIndexField="${config.indexField}" names no field of the schema ${schema.name} (${names.join(', ')})`);
    if (this.#idField < 0) problems.push(`ElasticsearchDocumentIdField="${config.documentIdField}" names no field of the schema ${schema.name} (${names.join(', ')})`);
    if (problems.length > 0) throw new ConfigError(problems);
    this.#encoder = new DocumentEncoder(schema);
    this.#client =
      options.client ??
      createOpenSearchClient({
        node: config.endpoint,
        ...(() => {
          const signing = awsSigningFor(config.endpoint, config.region);
          return signing ? { signing } : {};
        })(),
        ...(options.getCredentials ? { getCredentials: options.getCredentials } : {}),
      });
    this.#retryTimeoutMs = options.retryTimeoutMs ?? 600_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 10_000;
  }

  /** Documents created or replaced so far. */
  get eventsOut(): number {
    return this.#stats.created + this.#stats.updated;
  }

  /** The sink's counters. */
  get stats(): OpenSearchSinkStats {
    return { ...this.#stats };
  }

  /** Checks the node answers (not on Serverless) and, with an index prefix, creates the index template (`<prefix>*`). */
  async start(context: SinkContext): Promise<void> {
    this.#context = context;
    this.#log = context.log;
    // OpenSearch Serverless has no `GET /`; there the first index creation is the first call.
    if (awsSigningFor(this.#config.endpoint, this.#config.region)?.service !== 'aoss') await this.#retrying('reaching the node', () => this.#client.info());
    const template = this.templateName;
    if (this.#config.indexPrefix !== '') {
      await this.#retrying('creating the index template', () =>
        this.#client.indices.putIndexTemplate({
          name: template,
          body: { index_patterns: [`${this.#config.indexPrefix}*`], priority: 100, template: { mappings: mappingFor(this.#schema) }, _meta: { created_by: 'streaming-etl' } },
        }),
      );
    }
    this.#timer = setInterval(() => {
      if (this.#buffer.length > 0 && Date.now() - this.#oldestMs >= this.#config.bulkFlushIntervalMs) this.#flushInBackground();
    }, Math.max(100, Math.min(this.#config.bulkFlushIntervalMs, 1000)));
    this.#timer.unref();
    this.#log.info('OpenSearch sink started', {
      endpoint: this.#config.endpoint,
      signing: awsSigningFor(this.#config.endpoint, this.#config.region) ?? 'none',
      indexField: this.#config.indexField,
      indexPrefix: this.#config.indexPrefix,
      documentIdField: this.#config.documentIdField,
      template: this.#config.indexPrefix === '' ? 'none (each index is created with the mapping when first written)' : template,
    });
  }

  /** The name of the index template (used when an index prefix is set). */
  get templateName(): string {
    return `streaming-etl-${(this.#config.indexPrefix || this.#schema.name).toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`;
  }

  /** Buffers the records' writes, sending a bulk request whenever a flush bound is reached (backpressure: it waits for it). */
  async write(records: readonly SinkRecord[]): Promise<void> {
    this.#throwIfFailed();
    this.#started();
    for (const record of records) {
      const action = this.#action(record);
      if (typeof action === 'string') {
        this.#reject(record, action);
        continue;
      }
      if (this.#buffer.length > 0 && this.#bufferBytes + action.bytes > this.#config.bulkFlushMaxBytes) await this.#flush();
      if (this.#buffer.length === 0) this.#oldestMs = Date.now();
      this.#buffer.push(action);
      this.#bufferBytes += action.bytes;
      if (this.#buffer.length >= this.#config.bulkFlushMaxActions || this.#bufferBytes >= this.#config.bulkFlushMaxBytes) await this.#flush();
    }
    if (this.#buffer.length > 0 && Date.now() - this.#oldestMs >= this.#config.bulkFlushIntervalMs) await this.#flush();
  }

  /** Flushes every buffered write; the node has them all (or they are dead letters) when it resolves. */
  async preCommit(_checkpointId: number): Promise<undefined> {
    await this.#flush();
    this.#throwIfFailed();
    return undefined;
  }

  /** Nothing to commit: writes are visible once flushed, and idempotent. */
  async commit(_pending: never, _checkpointId: number, _recovering: boolean): Promise<number> {
    return 0;
  }

  /** Nothing is left behind by a dead run: its writes are either in the index or will be replayed. */
  async abortLeftovers(_runId: string, _kept: readonly never[]): Promise<number> {
    return 0;
  }

  /** Stops the age timer and any retrying, then closes the client; buffered writes are dropped (the source replays them). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#abort.abort();
    await this.#lock.catch(() => undefined);
    await this.#client.close();
  }

  #started(): SinkContext {
    if (!this.#context) throw new OpenSearchSinkError('the OpenSearch sink was used before start()');
    return this.#context;
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  #reject(record: SinkRecord, reason: string): void {
    this.#stats.rejected += 1;
    this.#started().reject(record, `OpenSearch: ${reason}`);
  }

  /** The bulk action of one record, or why it cannot have one. */
  #action(record: SinkRecord): Action | string {
    const values = record.event.values;
    const rawIndex = values[this.#indexField];
    const rawId = values[this.#idField];
    if (rawIndex === null || rawIndex === undefined || rawIndex === '') return `the index field "${this.#config.indexField}" is empty`;
    if (rawId === null || rawId === undefined || rawId === '') return `the document id field "${this.#config.documentIdField}" is empty`;
    const order = orderKey(record.origin);
    if (order === undefined) return `the source position "${record.origin.position}" is not a sequence number or offset, so the write cannot be ordered`;
    const index = `${this.#config.indexPrefix}${String(rawIndex)}`;
    const id = String(rawId);
    const doc = this.#encoder.encode(values, order);
    return { record, index, id, order, doc, bytes: Buffer.byteLength(doc) + index.length + id.length + 80 };
  }

  #flushInBackground(): void {
    this.#flush().catch((error: unknown) => {
      this.#failure ??= error;
    });
  }

  /** Sends the buffer as one bulk request (after any flush in progress). */
  #flush(): Promise<void> {
    const run = this.#lock.then(async () => {
      const batch = this.#buffer;
      if (batch.length === 0) return;
      this.#buffer = [];
      this.#bufferBytes = 0;
      await this.#send(batch);
    });
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /** Makes sure each index of the batch exists with the mapping; returns the actions whose index can take them. */
  async #ensureIndices(batch: readonly Action[]): Promise<Action[]> {
    for (const index of new Set(batch.map((a) => a.index))) {
      if (this.#indices.has(index)) continue;
      const problem = await this.#retrying(`creating the index ${index}`, async () => {
        try {
          await this.#client.indices.create({ index, body: { mappings: mappingFor(this.#schema) } });
          this.#log?.info('index created', { index });
          return undefined;
        } catch (error) {
          if (error instanceof errors.ResponseError && error.statusCode === 400) {
            const type = String(error.body?.error?.type ?? '');
            if (type === 'resource_already_exists_exception') return undefined;
            return `index ${index} cannot be created: ${reasonOf(error.body?.error)}`;
          }
          throw error;
        }
      });
      this.#indices.set(index, problem);
    }
    const ready: Action[] = [];
    for (const action of batch) {
      const problem = this.#indices.get(action.index);
      if (problem === undefined) ready.push(action);
      else this.#reject(action.record, problem);
    }
    return ready;
  }

  /**
   * Writes a batch: each round reads the stored order keys of the pending documents, drops the
   * writes that are not newer, sends the rest as conditional writes, and keeps for the next round
   * what failed for a reason that may pass (429, 5xx, a lost race); the items the node refuses for
   * good become dead letters. Two writes of one document in a batch go in successive rounds.
   */
  async #send(batch: readonly Action[]): Promise<void> {
    let remaining = await this.#ensureIndices(batch);
    // Documents known to exist (a create answered 409): read before writing, then written conditionally.
    const mustRead = new Set<Action>();
    const started = Date.now();
    for (let round = 1; remaining.length > 0; round += 1) {
      const seen = new Set<string>();
      const now: Action[] = [];
      const later: Action[] = [];
      for (const action of remaining) {
        const key = `${action.index}\u0000${action.id}`;
        if (seen.has(key)) later.push(action);
        else {
          seen.add(key);
          now.push(action);
        }
      }
      const retry: Action[] = [];
      const conflicts: Action[] = [];
      const reasons = new Map<string, number>();
      let failure: unknown;
      let unchanged = 0;
      try {
        const toRead = now.filter((a) => mustRead.has(a));
        const stored = new Map<Action, Stored>();
        (await this.#read(toRead)).forEach((current, i) => stored.set(toRead[i]!, current));
        const writes: { action: Action; line: string }[] = [];
        for (const action of now) {
          const current = stored.get(action);
          const meta = `"_index":${JSON.stringify(action.index)},"_id":${JSON.stringify(action.id)}`;
          if (current === undefined || !current.found) {
            if (current?.error !== undefined) {
              retry.push(action);
              reasons.set(`read: ${current.error}`, (reasons.get(`read: ${current.error}`) ?? 0) + 1);
            } else writes.push({ action, line: `{"create":{${meta}}}\n${action.doc}\n` });
          } else if (current.order !== undefined && current.order >= action.order) {
            unchanged += 1;
          } else {
            writes.push({ action, line: `{"index":{${meta},"if_seq_no":${current.seqNo},"if_primary_term":${current.primaryTerm}}}\n${action.doc}\n` });
          }
        }
        if (writes.length > 0) {
          this.#stats.bulkRequests += 1;
          // The NDJSON text is sent as it is, so 64-bit longs stay exact.
          const response = await this.#client.bulk({ body: writes.map((w) => w.line).join('') as unknown as Bulk_RequestBody });
          const items = (response.body.items as Record<string, BulkItemResult>[]).map((item) => Object.values(item)[0] ?? {});
          if (items.length !== writes.length) throw new OpenSearchSinkError(`a bulk request of ${writes.length} actions was answered with ${items.length} items`);
          items.forEach((item, i) => {
            const action = writes[i]!.action;
            const status = item.status ?? 0;
            if (status >= 200 && status < 300 && !item.error) {
              if (item.result === 'created') this.#stats.created += 1;
              else this.#stats.updated += 1;
            } else if (status === 409) {
              // The document exists (a replay, an update) or changed since it was read: read it and decide again.
              mustRead.add(action);
              conflicts.push(action);
            } else if (status === 429 || status >= 500) {
              retry.push(action);
              const key = `${status} ${item.error?.type ?? ''}`;
              reasons.set(key, (reasons.get(key) ?? 0) + 1);
            } else {
              this.#reject(action.record, `${status} ${reasonOf(item.error)}`);
            }
          });
        }
      } catch (error) {
        if (error instanceof OpenSearchSinkError || !isRetriableRequestError(error) || this.#abort.signal.aborted) {
          throw new OpenSearchSinkError(`bulk write of ${now.length} documents failed: ${describeError(error)}`, { cause: error, ...(statusOf(error) !== undefined ? { status: statusOf(error) } : {}) });
        }
        // Nothing of this round was written (a request that failed as a whole wrote none of its items).
        failure = error;
        unchanged = 0;
        retry.length = 0;
        conflicts.length = 0;
        retry.push(...now);
      }
      this.#stats.unchanged += unchanged;
      remaining = [...retry, ...conflicts, ...later];
      if (remaining.length === 0) break;
      const elapsed = Date.now() - started;
      if (elapsed >= this.#retryTimeoutMs) {
        throw new OpenSearchSinkError(`gave up after ${round} rounds over ${elapsed} ms: ${remaining.length} documents still not written`, {
          cause: failure,
          ...(statusOf(failure) !== undefined ? { status: statusOf(failure) } : {}),
        });
      }
      // Conflicts and second writes of a document go again at once; only refusals and failures wait.
      if (retry.length === 0) continue;
      const delay = backoffDelay(round, 200, this.#maxBackoffMs);
      this.#stats.retries += 1;
      this.#log?.warn('OpenSearch writes to retry', {
        documents: retry.length,
        round,
        delayMs: delay,
        ...(failure !== undefined ? { error: describeError(failure), status: statusOf(failure) } : { items: Object.fromEntries(reasons) }),
      });
      await sleep(delay, this.#abort.signal);
      if (this.#abort.signal.aborted) throw new OpenSearchSinkError('the OpenSearch sink was closed while writes were being retried');
    }
  }

  /** The stored order key, sequence number and primary term of each action's document (one `_mget`). */
  async #read(actions: readonly Action[]): Promise<Stored[]> {
    if (actions.length === 0) return [];
    const response = await this.#client.mget({
      _source_includes: ORDER_FIELD,
      body: { docs: actions.map((a) => ({ _index: a.index, _id: a.id })) },
    } as never);
    const docs = (response.body as { docs: { found?: boolean; _seq_no?: number; _primary_term?: number; _source?: Record<string, unknown>; error?: { type?: string; reason?: string } }[] }).docs;
    if (docs.length !== actions.length) throw new OpenSearchSinkError(`an mget of ${actions.length} documents was answered with ${docs.length}`);
    return docs.map((d) => {
      if (d.error) return { found: false, error: `${d.error.type ?? 'error'}: ${d.error.reason ?? ''}` };
      if (!d.found) return { found: false };
      const order = d._source?.[ORDER_FIELD];
      return { found: true, ...(typeof order === 'string' ? { order } : {}), seqNo: d._seq_no ?? 0, primaryTerm: d._primary_term ?? 0 };
    });
  }

  /** Runs a set-up call with backoff on what may pass (429, 5xx, no connection), within the retry timeout. */
  async #retrying<T>(what: string, call: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        const elapsed = Date.now() - started;
        if (!isRetriableRequestError(error) || elapsed >= this.#retryTimeoutMs || this.#abort.signal.aborted) {
          throw new OpenSearchSinkError(`${what} failed: ${describeError(error)}${error instanceof errors.ResponseError ? ` ${JSON.stringify(error.body)}` : ''}`, {
            cause: error,
            ...(statusOf(error) !== undefined ? { status: statusOf(error) } : {}),
          });
        }
        const delay = backoffDelay(attempt, 200, this.#maxBackoffMs);
        this.#log?.warn(`${what}: retrying`, { attempt, delayMs: delay, error: describeError(error) });
        await sleep(delay, this.#abort.signal);
      }
    }
  }
}

function statusOf(error: unknown): number | undefined {
  return error instanceof errors.ResponseError ? error.statusCode : undefined;
}

/** Whether a whole request may pass if sent again: 429, 5xx, no connection, a timeout. */
function isRetriableRequestError(error: unknown): boolean {
  if (error instanceof errors.ResponseError) return error.statusCode === 429 || error.statusCode >= 500;
  return error instanceof errors.ConnectionError || error instanceof errors.TimeoutError || error instanceof errors.NoLivingConnectionsError;
}

/** The node's reason for refusing an item: type and reason, with the cause's. */
function reasonOf(error: BulkItemResult['error'] | undefined): string {
  if (!error) return 'refused without a reason';
  const cause = error.caused_by ? ` (caused by ${error.caused_by.type ?? ''}: ${error.caused_by.reason ?? ''})` : '';
  return `${error.type ?? 'error'}: ${error.reason ?? ''}${cause}`;
}
