/**
 * The Kinesis source: reads the shards whose leases this run holds. A lease manager (see
 * checkpoint/lease-manager.ts) takes, renews and balances the leases; this file adds what is
 * Kinesis-specific: creating a lease per shard (shard sync) and one reader per held lease.
 *
 * Shard sync lists the shards (ListShards, paginated) and creates the missing leases:
 * - a shard with no parent in the stream starts at `InputStreamInitalPosition`; LATEST is recorded
 *   in the new lease as the time the run that created it started (AT_TIMESTAMP), so nothing written
 *   between the start and the first balance round is skipped, and a restart before the shard's
 *   first record resumes from that point; with LATEST or
 *   AT_TIMESTAMP, a shard already closed when the application first starts is not read (as the
 *   KCL does), and its children count as roots;
 * - a child shard gets a lease (from TRIM_HORIZON) only once every parent's lease holds SHARD_END,
 *   i.e. the parents were read to their end and their final checkpoints persisted: per-key order
 *   is kept across splits and merges.
 *
 * A shard that never had a record resumes from `AT_TIMESTAMP:<time>`. A service that does not
 * answer that GetShardIterator within `atTimestampProbeMs` (kinesalite never does when nothing
 * arrived since) is read from TRIM_HORIZON instead, dropping records that arrived earlier: the same
 * records, without depending on how the service treats that request.
 */
import { GetShardIteratorCommand, KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { baseClientConfig } from '../../../common/aws.js';
import { describeError } from '../../../common/errors.js';
import type { Logger } from '../../../common/log.js';
import { retry } from '../../../common/retry.js';
import { withDeadline } from '../../../common/deadline.js';
import type { InitialPosition } from '../../config/types.js';
import { LeaseManager, type LeaseTimings } from '../../checkpoint/lease-manager.js';
import type { LeaseTable } from '../../checkpoint/lease-table.js';
import { SHARD_END, type LeaseItem } from '../../checkpoint/types.js';
import type { EmitBatch, Source, SourceContext } from '../types.js';
import { SourceError } from '../errors.js';
import { PartitionReaders, type PartitionReader } from '../partition-readers.js';
import { iteratorFor, startSentinel } from './positions.js';
import { DEFAULT_SHARD_READ_LIMITS, readShard, type ShardReadLimits } from './shard-reader.js';
import type { BodyScanner } from './get-records.js';

/** What the Kinesis source needs. */
export interface KinesisSourceOptions {
  readonly streamName: string;
  readonly streamArn?: string;
  readonly region?: string;
  readonly initialPosition: InitialPosition;
  readonly log: Logger;
  readonly leases: LeaseTable;
  readonly timings: LeaseTimings;
  /** An existing client; one is created otherwise. */
  readonly client?: KinesisClient;
  /** How often to list the shards again to discover new ones. @default 30000 */
  readonly shardDiscoveryIntervalMs?: number;
  readonly limits?: Partial<ShardReadLimits>;
  /** A reader with no successful call for this long is reported as stalled. @default 60000 */
  readonly stallThresholdMs?: number;
  /**
   * How long an AT_TIMESTAMP GetShardIterator may take before the shard is read from TRIM_HORIZON
   * instead, keeping only records that arrived at or after the timestamp. @default 10000
   */
  readonly atTimestampProbeMs?: number;
  /** Scans GetRecords bodies natively and hands them over unparsed (when a sink reads them natively). */
  readonly scanBody?: BodyScanner;
}

/** Whether an error is a deadline or an abort (the SDK's names for both). */
function isTimeout(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** Drops the records that arrived before `fromMs` (a TRIM_HORIZON read standing in for AT_TIMESTAMP). */
function arrivedFrom(emit: EmitBatch, fromMs: number): EmitBatch {
  // A new batch of the kept records (not a spread: an unparsed batch's body holds them all; it is
  // released once they are parsed).
  return (batch) => {
    const records = batch.records.filter((r) => r.origin.arrivalTimeMs === undefined || r.origin.arrivalTimeMs >= fromMs);
    batch.kinesisBody?.body.release();
    return emit({
      shard: batch.shard,
      position: batch.position,
      records,
      ...(batch.millisBehindLatest !== undefined ? { millisBehindLatest: batch.millisBehindLatest } : {}),
    });
  };
}

interface Reader extends PartitionReader {
  lastProgress: number;
}

/** Reads the shards of a Kinesis data stream whose leases this run holds, in order per shard. */
export class KinesisSource implements Source {
  readonly description: string;
  readonly failed: Promise<Error>;
  readonly #o: KinesisSourceOptions;
  readonly #client: KinesisClient;
  readonly #ownsClient: boolean;
  readonly #readers = new PartitionReaders<Reader>();
  readonly #lag = new Map<string, number>();
  #fail!: (error: Error) => void;
  #manager: LeaseManager | undefined;
  #context: SourceContext | undefined;
  #stopped = false;
  #lastSync = -Infinity;
  #resync = false;
  /** When this run started (set by start()): a LATEST lease it creates starts there (see {@link KinesisSource.#sync}). */
  #startedMs = 0;

  constructor(options: KinesisSourceOptions) {
    this.#o = options;
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new KinesisClient(baseClientConfig(options.region ? { region: options.region } : {}));
    this.description = `kinesis:${options.streamName}`;
    this.failed = new Promise((resolve) => {
      this.#fail = resolve;
    });
  }

  async start(context: SourceContext): Promise<void> {
    this.#context = context;
    this.#startedMs = Date.now();
    this.#manager = new LeaseManager({
      ...this.#o.timings,
      leases: this.#o.leases,
      log: this.#o.log.child('leases'),
      sync: (known) => this.#sync(known),
      onTaken: (items) => this.#taken(items),
      onHandOver: (partitions) => this.#handOver(partitions),
      onDeadRun: (runId) => context.deadRun(runId),
      onLost: (error) => this.#fail(error),
    });
    await this.#manager.start();
  }

  millisBehindLatest(): number {
    let max = 0;
    for (const lag of this.#lag.values()) if (lag > max) max = lag;
    return max;
  }

  activeShards(): number {
    return this.#readers.size;
  }

  stalledShards(): readonly string[] {
    const threshold = this.#o.stallThresholdMs ?? 60_000;
    const now = Date.now();
    return [...this.#readers.entries()].filter(([, r]) => now - r.lastProgress > threshold).map(([shard]) => shard);
  }

  async checkpointed(_positions: ReadonlyMap<string, string>, finished: readonly string[]): Promise<void> {
    if (finished.length === 0 || !this.#manager) return;
    await this.#manager.release(finished);
    // The children of a finished shard can get their leases now.
    this.#resync = true;
    if (!this.#stopped) this.#manager.balanceNow().catch((error: unknown) => this.#o.log.warn('balance after a shard ended failed', { error: describeError(error) }));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#manager?.stopTaking();
    await this.#readers.stop();
  }

  async close(): Promise<void> {
    await this.#manager?.close();
    if (this.#ownsClient) this.#client.destroy();
  }

  async abandon(): Promise<void> {
    await this.stop();
    await this.#manager?.abandon();
    if (this.#ownsClient) this.#client.destroy();
  }

  async #taken(items: readonly LeaseItem[]): Promise<void> {
    const positions = await this.#context!.assigned(items);
    for (const item of items) {
      const position = positions.get(item.partition) ?? item.checkpoint;
      if (!this.#stopped) this.#startReader(item.partition, position);
    }
  }

  async #handOver(partitions: readonly string[]): Promise<void> {
    await this.#readers.stop(partitions);
    await this.#context!.revoked(partitions);
  }

  #startReader(shardId: string, position: string): void {
    const start = iteratorFor(position);
    if (!start) return; // SHARD_END: nothing left to read
    const log = this.#o.log;
    log.info('reading shard', { shard: shardId, from: position });
    // A LATEST start is recorded as the time it began, so a run that takes the lease over before
    // the shard's first record resumes from that moment, not from its own later LATEST.
    const startPosition = position === 'LATEST' ? startSentinel({ type: 'LATEST' }, Date.now()) : position;
    const abort = new AbortController();
    const reader: Reader = { abort, lastProgress: Date.now(), done: Promise.resolve() };
    const limits = { ...DEFAULT_SHARD_READ_LIMITS, ...this.#o.limits };
    const read = async (): Promise<'ended' | 'stopped'> => {
      let begin = start;
      let emit = this.#context!.emit;
      if (start.ShardIteratorType === 'AT_TIMESTAMP' && start.Timestamp) {
        const fromMs = start.Timestamp.getTime();
        if ((await this.#atTimestampAnswers(shardId, start.Timestamp, abort.signal)) === 'no answer') {
          if (abort.signal.aborted) return 'stopped';
          log.warn('AT_TIMESTAMP shard iterator not answered; reading from TRIM_HORIZON and keeping the records that arrived since', {
            shard: shardId,
            timestamp: start.Timestamp.toISOString(),
            probeMs: this.#o.atTimestampProbeMs ?? 10_000,
          });
          begin = { ShardIteratorType: 'TRIM_HORIZON' };
          emit = arrivedFrom(emit, fromMs);
        }
      }
      return readShard({
        client: this.#client,
        streamName: this.#o.streamName,
        ...(this.#o.streamArn ? { streamArn: this.#o.streamArn } : {}),
        shardId,
        start: begin,
        startPosition,
        emit,
        signal: abort.signal,
        log,
        limits,
        activeShards: () => this.#readers.size,
        ...(this.#o.scanBody ? { scanBody: this.#o.scanBody } : {}),
        onLag: (ms) => {
          this.#lag.set(shardId, ms);
          reader.lastProgress = Date.now();
        },
      });
    };
    const done = read().then(
      (outcome) => {
        this.#readers.remove(shardId);
        this.#lag.delete(shardId);
        if (outcome === 'ended') log.info('shard ended; its lease is released after the next checkpoint', { shard: shardId });
      },
      (error: unknown) => {
        this.#readers.remove(shardId);
        this.#lag.delete(shardId);
        if (!abort.signal.aborted) this.#fail(error instanceof Error ? error : new SourceError(String(error)));
      },
    );
    this.#readers.add(shardId, Object.assign(reader, { done }));
  }

  /**
   * Asks once for an AT_TIMESTAMP iterator with a short deadline. A service may never answer it
   * when no record arrived since the timestamp (kinesalite does not); the caller then reads from
   * TRIM_HORIZON and drops older records, which yields the same records. Other errors are left to
   * the reader's own retries.
   */
  async #atTimestampAnswers(shardId: string, timestamp: Date, signal: AbortSignal): Promise<'answered' | 'no answer' | 'failed'> {
    const streamRef = this.#o.streamArn ? { StreamARN: this.#o.streamArn } : { StreamName: this.#o.streamName };
    try {
      const command = new GetShardIteratorCommand({ ...streamRef, ShardId: shardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: timestamp });
      await withDeadline(this.#o.atTimestampProbeMs ?? 10_000, signal, (abortSignal) => this.#client.send(command, { abortSignal }));
      return 'answered';
    } catch (error) {
      if (isTimeout(error) || signal.aborted) return 'no answer';
      this.#o.log.debug('AT_TIMESTAMP probe failed; the reader retries', { shard: shardId, error: describeError(error) });
      return 'failed';
    }
  }

  async #listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    const streamRef = this.#o.streamArn ? { StreamARN: this.#o.streamArn } : { StreamName: this.#o.streamName };
    try {
      do {
        const token = nextToken;
        const page = await retry(() => withDeadline(30_000, undefined, (abortSignal) => this.#client.send(new ListShardsCommand(token ? { NextToken: token } : { ...streamRef }), { abortSignal })));
        shards.push(...(page.Shards ?? []));
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (error) {
      throw new SourceError(`could not list the shards of ${this.#o.streamName}`, { cause: error });
    }
    return shards;
  }

  /** Creates the leases of shards that have none and are ready (see the file comment). */
  async #sync(known: readonly LeaseItem[]): Promise<void> {
    const interval = this.#o.shardDiscoveryIntervalMs ?? 30_000;
    const now = Date.now();
    if (!this.#resync && now - this.#lastSync < interval) return;
    this.#resync = false;
    this.#lastSync = now;
    const shards = await this.#listShards();
    const leases = new Map(known.map((l) => [l.partition, l]));
    const inStream = new Set(shards.map((s) => s.ShardId));
    const firstStart = known.length === 0;
    const initial = this.#o.initialPosition;
    // On the first start with LATEST/AT_TIMESTAMP, closed shards are skipped: they and their
    // closed descendants count as ended, and the first open descendants start at the initial position.
    const skipped = new Set<string>();
    if (firstStart && initial.type !== 'TRIM_HORIZON') {
      for (const s of shards) if (s.ShardId && s.SequenceNumberRange?.EndingSequenceNumber !== undefined) skipped.add(s.ShardId);
    }
    for (const shard of shards) {
      const id = shard.ShardId;
      if (!id || leases.has(id)) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p && (inStream.has(p) || leases.has(p)));
      let checkpoint: string;
      if (skipped.has(id)) checkpoint = SHARD_END;
      // LATEST is the moment this run started, not the later moment a reader first takes the lease
      // (after the first balance round, up to 3 s on): records written in between are read.
      else if (parents.length === 0 || parents.every((p) => skipped.has(p))) checkpoint = startSentinel(initial, this.#startedMs);
      else if (parents.every((p) => leases.get(p)?.checkpoint === SHARD_END)) checkpoint = 'TRIM_HORIZON';
      else continue; // a parent is still being read
      if (await this.#o.leases.store.createLease(id, parents, checkpoint)) {
        this.#o.log.info('lease created', { shard: id, parents, checkpoint });
        leases.set(id, { partition: id, counter: 0, checkpoint, parents });
      }
    }
  }
}
