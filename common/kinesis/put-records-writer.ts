/**
 * The batching PutRecords writer shared by the replay tool and the processor's Kinesis sink
 * (`OutputKinesisStream`). Delivery is at-least-once: Kinesis has no idempotent put, so a request
 * whose response is lost is sent again and its records may land twice.
 *
 * - Records are packed into PutRecords requests within the service limits: at most 500 records
 *   and 5 MiB per request, at most 1 MiB per record, where a record's size is its data plus its
 *   partition key (UTF-8), as Kinesis counts it. A record over the limit is rejected at `write()`.
 * - A partial failure re-sends only the failed entries, after a backoff (common/retry's
 *   `backoffDelay`: exponential with jitter). Entry error codes that can never succeed
 *   (`KMSAccessDeniedException`, …) and records whose attempts ran out are not dropped: the
 *   writer fails with a `KinesisWriteError` listing them, from `flush()` and every later `write()`.
 * - At most `maxInFlight` requests are outstanding (a request keeps its slot through its retries,
 *   so a throttled stream slows the caller down); `write()` resolves when the buffer has room again:
 *   that is the backpressure.
 * - A partial batch waits at most `lingerMs` for more records (like the KPL's RecordMaxBufferedTime).
 * - Order: with more than one request in flight, and with retries, records of one partition key
 *   may land out of order (as with the KPL unless its in-flight limit is 1). Set `maxInFlight: 1`
 *   for per-key order.
 */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { PutRecordsCommandOutput, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { backoffDelay, sleep as realSleep } from '../retry.js';
import { isRetriable } from '../errors.js';
import type { Logger } from '../log.js';
import { KinesisRecordRejectedError, KinesisWriteError, KinesisWriterClosedError } from './errors.js';
import type { FailedRecord } from './errors.js';

/** One MiB. */
const MIB = 1024 * 1024;

/** The Kinesis Data Streams PutRecords limits. */
export const KINESIS_LIMITS = {
  /** Records per PutRecords request. */
  maxRecordsPerRequest: 500,
  /** Bytes (data + partition keys) per PutRecords request. */
  maxBytesPerRequest: 5 * MIB,
  /** Bytes (data + partition key) per record. */
  maxRecordBytes: MIB,
  /** Unicode characters in a partition key. */
  maxPartitionKeyLength: 256,
} as const;

/** Entry error codes worth another attempt; any other code fails the record for good. */
export const RETRIABLE_ENTRY_ERRORS: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'InternalFailure',
  'ServiceUnavailable',
  'KMSThrottlingException',
]);

/** A record to write. */
export interface KinesisRecord {
  /** The payload. */
  readonly data: Uint8Array;
  /** The partition key (1–256 characters); picks the shard unless `explicitHashKey` is given. */
  readonly partitionKey: string;
  /** A decimal 128-bit hash key that overrides the partition key's hash. */
  readonly explicitHashKey?: string;
}

/** The part of a KinesisClient the writer uses (a KinesisClient fits; tests may wrap one). */
export interface PutRecordsClient {
  send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput>;
}

/** How the writer is set up. */
export interface PutRecordsWriterOptions {
  /** The Kinesis client. The writer does not destroy it. */
  readonly client: PutRecordsClient;
  /** The stream name, or its ARN (`arn:…:stream/name`, sent as `StreamARN`). */
  readonly stream: string;
  /** Records per request. @default 500 */
  readonly maxRecordsPerRequest?: number;
  /** Bytes (data + partition keys) per request. @default 5 MiB */
  readonly maxBytesPerRequest?: number;
  /** Bytes (data + partition key) per record; larger records are rejected at write(). @default 1 MiB */
  readonly maxRecordBytes?: number;
  /** Requests outstanding at once (retries included). @default 4 */
  readonly maxInFlight?: number;
  /** Records buffered (not yet in a request) before write() waits. @default 2 × maxRecordsPerRequest */
  readonly maxBufferedRecords?: number;
  /** Bytes buffered before write() waits. @default 2 × maxBytesPerRequest */
  readonly maxBufferedBytes?: number;
  /** How long a partial batch waits for more records, in ms. @default 100 */
  readonly lingerMs?: number;
  /** Attempts per record, the first included. @default 10 */
  readonly maxAttempts?: number;
  /** The first backoff after a failure, in ms. @default 100 */
  readonly initialBackoffMs?: number;
  /** The largest backoff, in ms. @default 5000 */
  readonly maxBackoffMs?: number;
  /** For debug lines about retries. */
  readonly logger?: Logger;
  /** How to wait between attempts (tests pass a fake). @default common/retry's sleep */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The writer's counters. */
export interface PutRecordsWriterStats {
  /** Records handed to write(). */
  readonly recordsWritten: number;
  /** Records acknowledged by Kinesis. */
  readonly recordsSent: number;
  /** Bytes (data + partition key) of the acknowledged records. */
  readonly bytesSent: number;
  /** PutRecords requests made (retries included). */
  readonly requests: number;
  /** Records sent again after a failed entry or a failed request. */
  readonly retries: number;
  /** Entries (or whole requests' entries) refused for throughput (ProvisionedThroughputExceeded, throttling). */
  readonly throttles: number;
  /** Records given up on (they are in the KinesisWriteError). */
  readonly failedRecords: number;
  /** Requests in flight now. */
  readonly inFlight: number;
  /** Records buffered now, not yet in a request. */
  readonly buffered: number;
}

interface Entry {
  readonly record: KinesisRecord;
  readonly size: number;
  readonly seq: number;
  readonly enqueuedAt: number;
  attempts: number;
}

interface Batch {
  entries: Entry[];
}

interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const THROTTLE_CODES = /ProvisionedThroughputExceeded|Throttl|LimitExceeded/;

/** The size Kinesis counts for a record: data plus the UTF-8 partition key. */
export function kinesisRecordSize(record: KinesisRecord): number {
  return record.data.byteLength + Buffer.byteLength(record.partitionKey, 'utf8');
}

/**
 * Splits records into PutRecords batches within the limits, keeping their order. Exported for
 * tests and for callers that batch by themselves.
 */
export function splitIntoBatches<T extends KinesisRecord>(
  records: readonly T[],
  limits: { maxRecordsPerRequest?: number; maxBytesPerRequest?: number } = {},
): T[][] {
  const maxRecords = limits.maxRecordsPerRequest ?? KINESIS_LIMITS.maxRecordsPerRequest;
  const maxBytes = limits.maxBytesPerRequest ?? KINESIS_LIMITS.maxBytesPerRequest;
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = kinesisRecordSize(record);
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Writes records to one Kinesis stream in batches; see the module comment for the guarantees. */
export class PutRecordsWriter {
  readonly #client: PutRecordsClient;
  readonly #target: { StreamName: string } | { StreamARN: string };
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #maxRecordBytes: number;
  readonly #maxInFlight: number;
  readonly #maxBufferedRecords: number;
  readonly #maxBufferedBytes: number;
  readonly #lingerMs: number;
  readonly #maxAttempts: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #logger: Logger | undefined;
  readonly #sleep: (ms: number) => Promise<void>;

  #queue: Entry[] = [];
  #head = 0;
  #queuedBytes = 0;
  readonly #inFlight = new Set<Batch>();
  #nextSeq = 1;
  #flushTarget = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #failure: KinesisWriteError | undefined;
  readonly #failedRecords: FailedRecord[] = [];
  #spaceWaiters: Waiter[] = [];
  #flushWaiters: Waiter[] = [];
  #counters = { recordsWritten: 0, recordsSent: 0, bytesSent: 0, requests: 0, retries: 0, throttles: 0 };

  constructor(options: PutRecordsWriterOptions) {
    const positive = (name: string, value: number | undefined, fallback: number, max = Infinity): number => {
      const v = value ?? fallback;
      if (!Number.isInteger(v) || v < 1 || v > max) {
        throw new KinesisWriteError(`PutRecordsWriter option ${name} must be an integer from 1 to ${max}, got ${String(value)}`);
      }
      return v;
    };
    if (!options.stream) throw new KinesisWriteError('PutRecordsWriter option stream must name a stream or give its ARN, got an empty value');
    this.#client = options.client;
    this.#target = options.stream.startsWith('arn:') ? { StreamARN: options.stream } : { StreamName: options.stream };
    this.#maxRecords = positive('maxRecordsPerRequest', options.maxRecordsPerRequest, KINESIS_LIMITS.maxRecordsPerRequest, KINESIS_LIMITS.maxRecordsPerRequest);
    this.#maxBytes = positive('maxBytesPerRequest', options.maxBytesPerRequest, KINESIS_LIMITS.maxBytesPerRequest, KINESIS_LIMITS.maxBytesPerRequest);
    this.#maxRecordBytes = positive('maxRecordBytes', options.maxRecordBytes, KINESIS_LIMITS.maxRecordBytes, Math.min(KINESIS_LIMITS.maxRecordBytes, this.#maxBytes));
    this.#maxInFlight = positive('maxInFlight', options.maxInFlight, 4);
    this.#maxBufferedRecords = positive('maxBufferedRecords', options.maxBufferedRecords, 2 * this.#maxRecords);
    this.#maxBufferedBytes = positive('maxBufferedBytes', options.maxBufferedBytes, 2 * this.#maxBytes);
    this.#maxAttempts = positive('maxAttempts', options.maxAttempts, 10);
    this.#lingerMs = Math.max(0, options.lingerMs ?? 100);
    this.#initialBackoffMs = Math.max(0, options.initialBackoffMs ?? 100);
    this.#maxBackoffMs = Math.max(this.#initialBackoffMs, options.maxBackoffMs ?? 5000);
    this.#logger = options.logger;
    this.#sleep = options.sleep ?? ((ms) => realSleep(ms));
  }

  /** The counters so far. */
  get stats(): PutRecordsWriterStats {
    return {
      ...this.#counters,
      failedRecords: this.#failedRecords.length,
      inFlight: this.#inFlight.size,
      buffered: this.#queue.length - this.#head,
    };
  }

  /** The error the writer failed with, if it did. */
  get failure(): KinesisWriteError | undefined {
    return this.#failure;
  }

  /**
   * Hands in one record or several. Rejects at once (nothing of the call is taken) if a record is
   * over the size limit or has an invalid partition key, if the writer has failed, or if it is
   * closed. Resolves when the buffer has room for more: await it before writing again.
   */
  async write(records: KinesisRecord | readonly KinesisRecord[]): Promise<void> {
    if (this.#closed) throw new KinesisWriterClosedError('write() after close()');
    if (this.#failure) throw this.#failure;
    const list: readonly KinesisRecord[] = Array.isArray(records) ? records : [records as KinesisRecord];
    const sizes = list.map((record) => this.#validate(record));
    const now = Date.now();
    list.forEach((record, i) => {
      const size = sizes[i] as number;
      this.#queue.push({ record, size, seq: this.#nextSeq, enqueuedAt: now, attempts: 0 });
      this.#nextSeq += 1;
      this.#queuedBytes += size;
    });
    this.#counters.recordsWritten += list.length;
    this.#pump();
    if (this.#hasRoom()) return;
    await new Promise<void>((resolve, reject) => this.#spaceWaiters.push({ target: 0, resolve, reject }));
  }

  /**
   * Sends everything buffered now and resolves when every record handed in before this call is
   * acknowledged; rejects with the writer's KinesisWriteError if any record was given up on.
   */
  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    const target = this.#nextSeq - 1;
    if (this.#lowestUnacked() > target) return Promise.resolve();
    this.#flushTarget = Math.max(this.#flushTarget, target);
    const done = new Promise<void>((resolve, reject) => this.#flushWaiters.push({ target, resolve, reject }));
    this.#pump();
    return done;
  }

  /** Flushes, then refuses further writes. Does not destroy the client. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      this.#clearTimer();
    }
  }

  #validate(record: KinesisRecord): number {
    const key = record.partitionKey;
    if (typeof key !== 'string' || key.length < 1 || [...key].length > KINESIS_LIMITS.maxPartitionKeyLength) {
      throw new KinesisRecordRejectedError(
        `record rejected: partition key must have 1 to ${KINESIS_LIMITS.maxPartitionKeyLength} characters, got ${JSON.stringify(String(key).slice(0, 300))}`,
      );
    }
    if (record.explicitHashKey !== undefined && !/^(0|[1-9]\d{0,38})$/.test(record.explicitHashKey)) {
      throw new KinesisRecordRejectedError(
        `record rejected: explicit hash key must be a decimal integer in [0, 2^128), got ${JSON.stringify(record.explicitHashKey)} (partition key ${JSON.stringify(key)})`,
      );
    }
    const size = kinesisRecordSize(record);
    if (size > this.#maxRecordBytes) {
      throw new KinesisRecordRejectedError(
        `record rejected: ${size} bytes (data ${record.data.byteLength} + partition key ${size - record.data.byteLength}) is over the ${this.#maxRecordBytes}-byte record limit; partition key ${JSON.stringify(key)}`,
      );
    }
    return size;
  }

  #hasRoom(): boolean {
    return this.#queue.length - this.#head < this.#maxBufferedRecords && this.#queuedBytes < this.#maxBufferedBytes;
  }

  #lowestUnacked(): number {
    let low = this.#head < this.#queue.length ? (this.#queue[this.#head] as Entry).seq : Infinity;
    for (const batch of this.#inFlight) for (const entry of batch.entries) if (entry.seq < low) low = entry.seq;
    return low;
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Starts the requests that may start now, arms the linger timer, and wakes the waiters. */
  #pump(): void {
    if (!this.#failure) {
      const now = Date.now();
      while (this.#inFlight.size < this.#maxInFlight && this.#head < this.#queue.length) {
        const first = this.#queue[this.#head] as Entry;
        const queued = this.#queue.length - this.#head;
        const full = queued >= this.#maxRecords || this.#queuedBytes >= this.#maxBytes;
        const forced = first.seq <= this.#flushTarget || this.#closed;
        const lingered = now - first.enqueuedAt >= this.#lingerMs;
        if (!full && !forced && !lingered) break;
        this.#dispatch(this.#takeBatch());
      }
      this.#clearTimer();
      if (this.#head < this.#queue.length && this.#inFlight.size < this.#maxInFlight) {
        const first = this.#queue[this.#head] as Entry;
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, Math.max(0, first.enqueuedAt + this.#lingerMs - now));
        this.#timer.unref();
      }
    }
    this.#wake();
  }

  #takeBatch(): Batch {
    const entries: Entry[] = [];
    let bytes = 0;
    while (this.#head < this.#queue.length && entries.length < this.#maxRecords) {
      const next = this.#queue[this.#head] as Entry;
      if (entries.length > 0 && bytes + next.size > this.#maxBytes) break;
      entries.push(next);
      bytes += next.size;
      this.#head += 1;
    }
    this.#queuedBytes -= bytes;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return { entries };
  }

  #dispatch(batch: Batch): void {
    this.#inFlight.add(batch);
    void this.#run(batch).finally(() => {
      this.#inFlight.delete(batch);
      this.#pump();
    });
  }

  /** Sends a batch until every entry is acknowledged or given up on. Never rejects. */
  async #run(batch: Batch): Promise<void> {
    for (let attempt = 1; batch.entries.length > 0; attempt += 1) {
      const entries = batch.entries;
      for (const entry of entries) entry.attempts += 1;
      let output: PutRecordsCommandOutput;
      try {
        this.#counters.requests += 1;
        output = await this.#client.send(new PutRecordsCommand({ ...this.#target, Records: entries.map(toRequestEntry) }));
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        const message = error instanceof Error ? error.message : String(error);
        if (THROTTLE_CODES.test(name)) this.#counters.throttles += entries.length;
        if (!isRetriable(error) || attempt >= this.#maxAttempts) {
          this.#giveUp(entries, name, message, error);
          batch.entries = [];
          return;
        }
        await this.#backoff(attempt, entries.length, name);
        continue;
      }
      const results = output.Records ?? [];
      if (results.length !== entries.length) {
        const error = new KinesisWriteError(`PutRecords answered ${results.length} results for ${entries.length} records`);
        this.#giveUp(entries, 'MalformedResponse', error.message, error);
        batch.entries = [];
        return;
      }
      const again: Entry[] = [];
      let throttled = 0;
      entries.forEach((entry, i) => {
        const result = results[i];
        const code = result?.ErrorCode;
        if (!code) {
          this.#counters.recordsSent += 1;
          this.#counters.bytesSent += entry.size;
          return;
        }
        if (THROTTLE_CODES.test(code)) throttled += 1;
        if (RETRIABLE_ENTRY_ERRORS.has(code) && entry.attempts < this.#maxAttempts) again.push(entry);
        else {
          const message = result?.ErrorMessage ?? code;
          this.#giveUp([entry], code, message, new KinesisWriteError(`${code}: ${message}`));
        }
      });
      this.#counters.throttles += throttled;
      batch.entries = again;
      this.#checkFlushWaiters();
      if (again.length > 0) await this.#backoff(attempt, again.length, `${again.length} failed entries`);
    }
  }

  async #backoff(attempt: number, count: number, reason: string): Promise<void> {
    const delay = backoffDelay(attempt, this.#initialBackoffMs, this.#maxBackoffMs);
    this.#counters.retries += count;
    this.#logger?.debug('PutRecords retry', { records: count, attempt, delayMs: delay, reason });
    await this.#sleep(delay);
  }

  #giveUp(entries: readonly Entry[], code: string, message: string, cause: unknown): void {
    for (const entry of entries) {
      this.#failedRecords.push({
        partitionKey: entry.record.partitionKey,
        size: entry.size,
        errorCode: code,
        errorMessage: message,
        attempts: entry.attempts,
      });
    }
    if (!this.#failure) {
      const stream = 'StreamName' in this.#target ? this.#target.StreamName : this.#target.StreamARN;
      const retriable = RETRIABLE_ENTRY_ERRORS.has(code) || isRetriable(cause);
      this.#failure = new KinesisWriteError(
        `could not write to Kinesis stream ${stream}: ${code}: ${message}` +
          (retriable ? ` (gave up after ${this.#maxAttempts} attempts)` : ' (not retriable)') +
          `; first record's partition key ${JSON.stringify(entries[0]?.record.partitionKey)}; see .records for every record given up on`,
        { cause, records: this.#failedRecords, retriable: false },
      );
      this.#clearTimer();
    }
    this.#logger?.error('records given up on', { records: entries.length, errorCode: code, errorMessage: message });
    this.#wake();
  }

  #checkFlushWaiters(): void {
    if (this.#flushWaiters.length === 0) return;
    const low = this.#lowestUnacked();
    const waiting: Waiter[] = [];
    for (const waiter of this.#flushWaiters) {
      if (this.#failure) waiter.reject(this.#failure);
      else if (low > waiter.target) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#flushWaiters = waiting;
  }

  #wake(): void {
    if (this.#spaceWaiters.length > 0 && (this.#failure || this.#hasRoom())) {
      const waiters = this.#spaceWaiters;
      this.#spaceWaiters = [];
      for (const waiter of waiters) {
        if (this.#failure) waiter.reject(this.#failure);
        else waiter.resolve();
      }
    }
    this.#checkFlushWaiters();
  }
}

function toRequestEntry(entry: Entry): PutRecordsRequestEntry {
  const { data, partitionKey, explicitHashKey } = entry.record;
  return explicitHashKey === undefined
    ? { Data: data, PartitionKey: partitionKey }
    : { Data: data, PartitionKey: partitionKey, ExplicitHashKey: explicitHashKey };
}
