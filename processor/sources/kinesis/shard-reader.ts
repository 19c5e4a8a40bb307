/**
 * Reads one shard: a GetRecords loop that keeps within the per-shard limits (at most 5 calls a
 * second; ProvisionedThroughputExceeded backs off), renews an expired iterator from the last
 * position handed over, and follows a closed shard to its end.
 */
import {
  ExpiredIteratorException,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { Logger } from '../../../common/log.js';
import { backoffDelay, retry, sleep } from '../../../common/retry.js';
import { withDeadline } from '../../../common/deadline.js';
import { describeError, isRetriable } from '../../../common/errors.js';
import { SHARD_END } from '../../checkpoint/types.js';
import type { EmitBatch, SourceBatch, SourceRecord } from '../types.js';
import type { SourcePosition } from '../../lifecycle.js';
import { SourceError } from '../errors.js';
import { iteratorFor } from './positions.js';
import { deaggregate, hasKplMagic } from './kpl.js';
import { bodyText, fastGetRecordsCommand, parseGetRecordsBody, rawBodyOf, type BodyScanner, type HeldBody } from './get-records.js';
import { isUserRecordPosition, parseUserRecordPosition } from './kpl-position.js';

/** Per-shard read limits. */
export interface ShardReadLimits {
  /** Records per GetRecords call (the service allows 10,000). @default 10000 */
  readonly maxRecordsPerCall: number;
  /** Least time between two GetRecords calls on one shard (5 calls/s allowed). @default 200 */
  readonly minCallIntervalMs: number;
  /** Wait after a call that returned nothing while at the tip. @default 1000 */
  readonly idleIntervalMs: number;
  /** A call to Kinesis that has not answered by then fails (and is retried). @default 30000 */
  readonly callTimeoutMs: number;
}

/**
 * Bytes of record data that all the shard readers of one task fetch per round of calls, at most:
 * about 13 MiB. Every reader holds its last response until the pipeline has taken it, so with
 * 10,000 records per call a task catching up on 16 shards held 16 responses of ~4 MB at once, and
 * its garbage collector paid for them: in `bench/pipeline.ts --shards 16` (400,000 events, three
 * alternated pairs) 2,000 records per call gave 0.124–0.143× `JSON.parse` in steady state against
 * 0.101–0.105× with 10,000, and a peak RSS of 346–351 MiB against 499–525 MiB.
 */
export const READ_BYTES_IN_FLIGHT = 13 * 1024 * 1024;
/**
 * The fewest bytes a call asks for: a shard's full read rate (2 MiB/s) in 2.5 calls a second,
 * below the 5 a shard allows, so a reader that shares the budget with many others still keeps up
 * with its shard.
 */
export const FULL_RATE_BYTES_PER_CALL = Math.ceil((2 * 1024 * 1024) / 2.5);

/**
 * The Limit of a shard's next GetRecords call: its share of {@link READ_BYTES_IN_FLIGHT} among
 * the `activeShards` the task reads, never below {@link FULL_RATE_BYTES_PER_CALL}, in records of
 * the shard's mean size so far (`meanRecordBytes`, unknown before its first records), between 1
 * and `maxRecordsPerCall`. With 1–2 shards it is the service's 10,000 for records under 680 bytes.
 */
export function recordsPerCall(maxRecordsPerCall: number, activeShards: number, meanRecordBytes: number | undefined): number {
  if (meanRecordBytes === undefined || !(meanRecordBytes > 0) || activeShards < 1) return maxRecordsPerCall;
  const bytes = Math.max(FULL_RATE_BYTES_PER_CALL, READ_BYTES_IN_FLIGHT / activeShards);
  return Math.max(1, Math.min(maxRecordsPerCall, Math.floor(bytes / meanRecordBytes)));
}

/** Defaults of ShardReadLimits. */
export const DEFAULT_SHARD_READ_LIMITS: ShardReadLimits = { maxRecordsPerCall: 10_000, minCallIntervalMs: 200, idleIntervalMs: 1000, callTimeoutMs: 30_000 };

/** What a shard reader needs. */
export interface ShardReaderOptions {
  readonly client: KinesisClient;
  readonly streamName: string;
  readonly streamArn?: string;
  readonly shardId: string;
  /** The iterator to start with. */
  readonly start: Pick<GetShardIteratorCommandInput, 'ShardIteratorType' | 'StartingSequenceNumber' | 'Timestamp'>;
  /** The position to report before the first record (the start sentinel or the resumed position). */
  readonly startPosition: string;
  readonly emit: EmitBatch;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly limits: ShardReadLimits;
  /** Called with MillisBehindLatest after every successful call. */
  readonly onLag: (millis: number) => void;
  /** How many shards the task reads now (for {@link recordsPerCall}); 1 when not given. */
  readonly activeShards?: () => number;
  /** Scans response bodies natively, leaving their records unparsed (see {@link SourceBatch.kinesisBody}). */
  readonly scanBody?: BodyScanner;
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function isThrottle(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: string }).name === 'ProvisionedThroughputExceededException';
}

/** Where a batch resumes inside a KPL aggregate: its user records through `through` were committed already. */
export interface AggregateSkip {
  readonly sequenceNumber: string;
  readonly through: bigint;
}

/**
 * The source records of one GetRecords response, in order: KPL aggregates are split into their
 * user records, each with its own position (`<seq>:<sub>`), those covered by `skip` left out; a
 * corrupt aggregate is one record the pipeline sends to the dead letters. Exported for tests and
 * the hot-path bench.
 */
export function toSourceRecords(records: readonly _Record[], streamName: string, shardId: string, skip: AggregateSkip | undefined): SourceRecord[] {
  const batch: SourceRecord[] = [];
  for (const r of records) {
    const sequenceNumber = r.SequenceNumber ?? '';
    const arrivalTimeMs = r.ApproximateArrivalTimestamp?.getTime();
    const partitionKey = r.PartitionKey ?? '';
    const data = r.Data ?? new Uint8Array(0);
    // A plain record (no KPL magic), the common case: itself, at its sequence number.
    if (!hasKplMagic(data)) {
      batch.push({ data, origin: kinesisOrigin(streamName, shardId, sequenceNumber, arrivalTimeMs, partitionKey, undefined) });
      continue;
    }
    const result = deaggregate({ data, sequenceNumber, partitionKey });
    if (!result.ok) {
      batch.push({ data, origin: kinesisOrigin(streamName, shardId, sequenceNumber, arrivalTimeMs, partitionKey, undefined), rejected: result.error.message });
      continue;
    }
    for (const user of result.records) {
      if (skip && user.sequenceNumber === skip.sequenceNumber && user.subSequenceNumber !== undefined && BigInt(user.subSequenceNumber) <= skip.through) continue;
      const position = user.subSequenceNumber === undefined ? sequenceNumber : `${sequenceNumber}:${user.subSequenceNumber}`;
      batch.push({ data: user.data, origin: kinesisOrigin(streamName, shardId, position, arrivalTimeMs, user.partitionKey, user.explicitHashKey) });
    }
  }
  return batch;
}

/**
 * A batch of one GetRecords response left unparsed (see {@link SourceBatch.kinesisBody}): its
 * records are parsed in JS only when read (the JS decode path, or the dead letters of a native one).
 */
class UnparsedBatch implements SourceBatch {
  readonly shard: string;
  readonly position: string;
  readonly millisBehindLatest: number;
  readonly kinesisBody: { readonly body: HeldBody; readonly count: number };
  readonly #stream: string;
  #records: SourceRecord[] | undefined;

  constructor(stream: string, shard: string, position: string, millisBehindLatest: number, body: HeldBody, count: number) {
    this.#stream = stream;
    this.shard = shard;
    this.position = position;
    this.millisBehindLatest = millisBehindLatest;
    this.kinesisBody = { body, count };
  }

  get records(): readonly SourceRecord[] {
    if (this.#records === undefined) {
      const parsed = parseGetRecordsBody(bodyText(this.kinesisBody.body.bytes()));
      if (parsed === undefined || (parsed.Records ?? []).length !== this.kinesisBody.count) {
        throw new SourceError(`a GetRecords response of ${this.#stream}/${this.shard} that the native scan read does not parse in JS (${this.kinesisBody.count} records scanned)`);
      }
      this.#records = toSourceRecords(parsed.Records ?? [], this.#stream, this.shard, undefined);
    }
    return this.#records;
  }
}

/** A record's origin, built without object spreads (once per record); optional fields only when known, in this order. */
function kinesisOrigin(
  stream: string,
  shard: string,
  position: string,
  arrivalTimeMs: number | undefined,
  partitionKey: string | undefined,
  explicitHashKey: string | undefined,
): SourcePosition {
  const origin: { -readonly [K in keyof SourcePosition]: SourcePosition[K] } = { source: 'kinesis', stream, shard, position };
  if (arrivalTimeMs !== undefined) origin.arrivalTimeMs = arrivalTimeMs;
  if (partitionKey !== undefined) origin.partitionKey = partitionKey;
  if (explicitHashKey !== undefined) origin.explicitHashKey = explicitHashKey;
  return origin;
}

/** Reads the shard until it ends ('ended') or the signal aborts ('stopped'). */
export async function readShard(options: ShardReaderOptions): Promise<'ended' | 'stopped'> {
  const { client, shardId, signal, log } = options;
  const streamRef = options.streamArn ? { StreamARN: options.streamArn } : { StreamName: options.streamName };
  // Every call has a deadline and ends with the reader's signal (stop, hand-over): a service that
  // never answers (kinesalite on an AT_TIMESTAMP with no newer record) cannot hang the reader.
  const withCallDeadline = <T>(call: (callSignal: AbortSignal) => Promise<T>): Promise<T> => withDeadline(options.limits.callTimeoutMs, signal, call);
  const getIterator = async (start: ShardReaderOptions['start']): Promise<string | undefined> => {
    const out = await retry(() => withCallDeadline((abortSignal) => client.send(new GetShardIteratorCommand({ ...streamRef, ShardId: shardId, ...start }), { abortSignal })), {
      signal,
      retryOn: (error) => isRetriable(error) || isTimeout(error),
      maxAttempts: 10,
      onRetry: (error, attempt) => log.warn('GetShardIterator failed; retrying', { shard: shardId, attempt, error: describeError(error) }),
    });
    return out.ShardIterator;
  };

  let lastPosition = options.startPosition;
  // Resuming inside a KPL aggregate (`<seq>:<sub>`): its first user records were committed already.
  let skip: AggregateSkip | undefined;
  if (isUserRecordPosition(options.startPosition) && options.startPosition.includes(':')) {
    const p = parseUserRecordPosition(options.startPosition);
    if (p.subSequenceNumber !== undefined) skip = { sequenceNumber: p.sequenceNumber, through: p.subSequenceNumber };
  }
  await options.emit({ shard: shardId, records: [], position: lastPosition });
  let iterator: string | undefined;
  try {
    iterator = await getIterator(options.start);
  } catch (error) {
    if (signal.aborted) return 'stopped';
    throw new SourceError(`could not get a shard iterator for ${options.streamName}/${shardId}`, { cause: error });
  }
  let throttles = 0;
  let failures = 0;
  let lastCall = 0;
  let meanRecordBytes: number | undefined;
  while (!signal.aborted) {
    if (iterator === undefined) {
      await options.emit({ shard: shardId, records: [], position: SHARD_END });
      log.info('shard read to its end', { shard: shardId });
      return 'ended';
    }
    const wait = lastCall + options.limits.minCallIntervalMs - Date.now();
    if (wait > 0) await sleep(wait, signal);
    if (signal.aborted) break;
    lastCall = Date.now();
    let response;
    try {
      const limit = recordsPerCall(options.limits.maxRecordsPerCall, options.activeShards?.() ?? 1, meanRecordBytes);
      const command = fastGetRecordsCommand({ ShardIterator: iterator, Limit: limit, ...(options.streamArn ? { StreamARN: options.streamArn } : {}) }, options.scanBody);
      response = await withCallDeadline((abortSignal) => client.send(command, { abortSignal }));
      throttles = 0;
      failures = 0;
    } catch (error) {
      if (signal.aborted) break;
      if ((isTimeout(error) || isRetriable(error)) && !isThrottle(error) && failures < 10) {
        failures += 1;
        const delay = backoffDelay(failures, 250, 10_000);
        log.warn('GetRecords failed; retrying', { shard: shardId, attempt: failures, delayMs: delay, error: describeError(error) });
        await sleep(delay, signal);
        continue;
      }
      if (isThrottle(error)) {
        throttles += 1;
        const delay = backoffDelay(throttles, 250, 10_000);
        log.warn('GetRecords throttled; backing off', { shard: shardId, delayMs: delay, attempt: throttles });
        await sleep(delay, signal);
        continue;
      }
      if (error instanceof ExpiredIteratorException) {
        log.info('shard iterator expired; renewing from the last position', { shard: shardId, position: lastPosition });
        const resume = iteratorFor(lastPosition);
        iterator = resume ? await getIterator(resume) : undefined;
        continue;
      }
      throw new SourceError(`GetRecords failed on ${options.streamName}/${shardId}${failures >= 10 ? ` after ${failures + 1} attempts` : ''}`, { cause: error });
    }
    const lag = response.MillisBehindLatest ?? 0;
    options.onLag(lag);
    const raw = rawBodyOf(response);
    if (raw !== undefined) {
      // Scanned natively, no KPL aggregate in it (so no aggregate to resume inside either).
      if (raw.count > 0 && raw.body !== undefined) {
        meanRecordBytes = raw.dataBytes / raw.count;
        skip = undefined;
        lastPosition = raw.lastSequenceNumber ?? lastPosition;
        await options.emit(new UnparsedBatch(options.streamName, shardId, lastPosition, lag, raw.body, raw.count));
      }
      iterator = response.NextShardIterator;
      if (raw.count === 0 && lag === 0 && iterator !== undefined) await sleep(options.limits.idleIntervalMs, signal);
      continue;
    }
    const records = response.Records ?? [];
    if (records.length > 0) {
      let bytes = 0;
      for (let i = 0; i < records.length; i += 1) bytes += records[i]!.Data?.byteLength ?? 0;
      meanRecordBytes = bytes / records.length;
      const batch = toSourceRecords(records, options.streamName, shardId, skip);
      skip = undefined;
      // Batches end on whole Kinesis records, so the position after one is the last sequence number.
      lastPosition = records[records.length - 1]!.SequenceNumber ?? lastPosition;
      await options.emit({ shard: shardId, records: batch, position: lastPosition, millisBehindLatest: lag });
    }
    iterator = response.NextShardIterator;
    if (records.length === 0 && lag === 0 && iterator !== undefined) await sleep(options.limits.idleIntervalMs, signal);
  }
  return 'stopped';
}
