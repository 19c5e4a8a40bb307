/**
 * The pipeline: source batches -> decode/validate -> every sink, rejected records -> dead letters;
 * a checkpoint every interval (between batches, so the positions are an exact barrier), and a
 * final one on stop. Shard readers hand over batches through a bounded queue: when the sinks are
 * slower than the source, readers wait (backpressure) instead of piling records up in memory.
 * Ownership changes go through the same queue: a revoked partition's queued batches are handled,
 * then a checkpoint persists its position, then it is forgotten. A partition read to its end is
 * checkpointed soon (so the children of a Kinesis shard can start) and then forgotten.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../common/log.js';
import { describeError } from '../common/errors.js';
import type { CheckpointCoordinator, CheckpointResult } from './checkpoint/coordinator.js';
import { SHARD_END, type LeaseItem } from './checkpoint/types.js';
import type { DecodeResult } from './formats/types.js';
import type { RawRecordSink, Sink, SinkRecord } from './lifecycle.js';
import type { DeadLetterOutput } from './sinks/dead-letter.js';
import type { Source, SourceBatch, SourceContext, SourceRecord } from './sources/types.js';

/** Records decoded and handed to the sinks per write call (see #handle). */
const WRITE_SLICE = 1000;

/** Counters of a running pipeline. */
export interface PipelineStats {
  /** Records read from the source. */
  readonly eventsIn: number;
  /** Valid events handed to the sinks. */
  readonly eventsValid: number;
  /** Records rejected (to the dead letters). */
  readonly eventsRejected: number;
  /** Per sink: events made visible at the destination. */
  readonly eventsOut: Readonly<Record<string, number>>;
  readonly checkpoints: number;
  readonly lastCheckpoint?: CheckpointResult;
  readonly millisBehindLatest: number;
  readonly activeShards: number;
  /** Partitions whose reader made no progress for a while. */
  readonly stalledShards: readonly string[];
  /** Partitions this run owns now. */
  readonly ownedPartitions: number;
  readonly queuedBatches: number;
  /** A bounded source's progress (files done, lines, bytes). */
  readonly sourceProgress?: Readonly<Record<string, number>>;
}

/** A revocation waiting in the queue behind the batches read before it. */
interface Revocation {
  readonly revoke: readonly string[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** What the pipeline is made of. */
export interface PipelineOptions {
  readonly source: Source;
  readonly decode: (bytes: Uint8Array) => DecodeResult;
  readonly sinks: readonly Sink[];
  readonly deadLetters: DeadLetterOutput;
  readonly coordinator: CheckpointCoordinator;
  readonly checkpointIntervalMs: number;
  readonly log: Logger;
  /**
   * The only sink, when it decodes raw records itself (the S3 sink's native Parquet path): records
   * go to it undecoded, and `decode` is not used.
   */
  readonly rawSink?: RawRecordSink;
  /** Batches queued between the readers and the pipeline before readers wait. @default 16 */
  readonly maxQueuedBatches?: number;
}

/** One running pipeline. */
export class Pipeline {
  readonly #o: PipelineOptions;
  readonly #queue: (SourceBatch | Revocation)[] = [];
  readonly #spaceWaiters: (() => void)[] = [];
  readonly #positions = new Map<string, string>();
  #wakeLoop: (() => void) | undefined;
  #stopping = false;
  #sourceStopped = false;
  #checkpointDue = false;
  #checkpointRequests: { resolve: (result: CheckpointResult) => void; reject: (error: unknown) => void }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #eventsIn = 0;
  #eventsValid = 0;
  #eventsRejected = 0;
  #checkpoints = 0;
  #lastCheckpoint: CheckpointResult | undefined;
  #done: Promise<void> | undefined;

  constructor(options: PipelineOptions) {
    this.#o = options;
  }

  /** Starts the source (the sinks are started by the caller, before any recovery); `done` settles when it ends. */
  async start(): Promise<void> {
    const context: SourceContext = {
      emit: (batch) => this.#emit(batch),
      assigned: (items) => this.#assigned(items),
      revoked: (partitions) =>
        new Promise<void>((resolve, reject) => {
          this.#queue.push({ revoke: partitions, resolve, reject });
          this.#wakeLoop?.();
        }),
      deadRun: (runId) => this.#o.coordinator.cleanUpRun(runId),
    };
    await this.#o.source.start(context);
    this.#done = this.#loop();
    // A bounded source read to its end: stop as on a signal (final checkpoint, clean exit).
    void this.#o.source.exhausted?.then(() => {
      if (this.#stopping) return;
      this.#o.log.info('the bounded input is read to its end: stopping');
      this.stop().catch(() => undefined);
    });
    this.#timer = setInterval(() => {
      this.#checkpointDue = true;
      this.#wakeLoop?.();
    }, this.#o.checkpointIntervalMs);
    this.#timer.unref();
  }

  async #assigned(items: readonly LeaseItem[]): Promise<ReadonlyMap<string, string>> {
    const positions = await this.#o.coordinator.recoverLeases(items);
    for (const [partition, position] of positions) this.#positions.set(partition, position);
    return positions;
  }

  /** Settles when the pipeline ends: resolves after a clean stop, rejects on a fatal error. */
  get done(): Promise<void> {
    if (!this.#done) throw new Error('pipeline not started');
    return this.#done;
  }

  /** Counters. */
  stats(): PipelineStats {
    return {
      eventsIn: this.#eventsIn,
      eventsValid: this.#eventsValid,
      eventsRejected: this.#eventsRejected,
      eventsOut: Object.fromEntries(this.#o.sinks.map((sink) => [sink.name, this.#o.coordinator.eventsOut[sink.name] ?? sink.eventsOut])),
      checkpoints: this.#checkpoints,
      ...(this.#lastCheckpoint ? { lastCheckpoint: this.#lastCheckpoint } : {}),
      millisBehindLatest: this.#o.source.millisBehindLatest(),
      activeShards: this.#o.source.activeShards(),
      stalledShards: this.#o.source.stalledShards(),
      ownedPartitions: this.#positions.size,
      queuedBatches: this.#queue.length,
      ...(this.#o.source.progress ? { sourceProgress: this.#o.source.progress() } : {}),
    };
  }

  /** Asks for a checkpoint now; resolves when it has committed, rejects if the pipeline fails first. */
  checkpointNow(): Promise<CheckpointResult> {
    return new Promise((resolve, reject) => {
      this.#checkpointRequests.push({ resolve, reject });
      this.#checkpointDue = true;
      this.#wakeLoop?.();
    });
  }

  /** Stops reading, handles what was read, takes a final checkpoint; resolves when done. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#o.log.info('stopping: no more reads; final checkpoint follows');
      for (const wake of this.#spaceWaiters.splice(0)) wake();
      await this.#o.source.stop();
      this.#sourceStopped = true;
      this.#wakeLoop?.();
    }
    await this.#done;
  }

  async #emit(batch: SourceBatch): Promise<void> {
    this.#queue.push(batch);
    this.#wakeLoop?.();
    const max = this.#o.maxQueuedBatches ?? 16;
    while (this.#queue.length >= max && !this.#stopping) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
  }

  async #loop(): Promise<void> {
    const failure = this.#o.source.failed.then((error) => {
      throw error;
    });
    failure.catch(() => undefined);
    try {
      while (true) {
        const batch = this.#queue.shift();
        if (batch && 'revoke' in batch) {
          await this.#revoke(batch);
        } else if (batch) {
          this.#spaceWaiters.shift()?.();
          await this.#handle(batch);
          // A full queue is handled back to back in microtasks; let timers (lease renewals, the
          // status line, the checkpoint timer) and I/O run between batches, or they starve.
          await yieldToEventLoop();
        }
        if (this.#checkpointDue) await this.#checkpoint();
        if (batch) continue;
        if (this.#sourceStopped) break;
        await Promise.race([new Promise<void>((resolve) => (this.#wakeLoop = resolve)), failure]);
        this.#wakeLoop = undefined;
      }
      // Stopping: the source is stopped, the queue is drained; make everything read visible.
      await this.#checkpoint();
      this.#o.coordinator.close();
      await this.#o.source.close();
      // Every lease is released now: the last status line shows none owned.
      this.#positions.clear();
    } catch (error) {
      this.#o.log.error('pipeline failed', { error: describeError(error) });
      for (const request of this.#checkpointRequests.splice(0)) request.reject(error);
      for (const item of this.#queue.splice(0)) if ('revoke' in item) item.reject(error);
      await this.#o.source.abandon().catch(() => undefined);
      throw error;
    } finally {
      if (this.#timer) clearInterval(this.#timer);
      for (const wake of this.#spaceWaiters.splice(0)) wake();
      for (const sink of this.#o.sinks) await sink.close().catch(() => undefined);
    }
  }

  async #handle(batch: SourceBatch): Promise<void> {
    const raw = this.#o.rawSink;
    if (raw !== undefined && batch.kinesisBody !== undefined) {
      // An unparsed Kinesis body: parsed in JS only if the sink refuses a record.
      await this.#handleKinesisBody(batch, batch.kinesisBody, raw);
    } else {
      const records = batch.records;
      if (records.length > 0 && raw !== undefined) await this.#handleRaw(records, raw);
      else if (records.length > 0) await this.#handleDecoded(records);
    }
    if (!this.#positions.has(batch.shard)) throw new Error(`a batch of ${batch.shard} arrived, whose lease this run does not hold`);
    this.#positions.set(batch.shard, batch.position);
    // A shard read to its end: checkpoint soon, so its lease can be released and its children start.
    if (batch.position === SHARD_END) this.#checkpointDue = true;
  }

  /** Sends a record to the dead letters with the reason. */
  #deadLetter(record: Pick<SourceRecord, 'data' | 'origin'>, reason: string, now: number): void {
    this.#eventsRejected += 1;
    this.#o.deadLetters.add({ reason, origin: record.origin, raw: record.data, rejectedAtMs: now });
  }

  /** A batch decoded here, for every sink. */
  async #handleDecoded(records: readonly SourceRecord[]): Promise<void> {
    const decode = this.#o.decode;
    const now = Date.now();
    this.#eventsIn += records.length;
    // Decoded and written a slice at a time: a slice's decoded events die young, instead of
    // a whole batch's (up to 10,000) surviving garbage collections until the sinks take them.
    for (let from = 0; from < records.length; from += WRITE_SLICE) {
      const to = Math.min(records.length, from + WRITE_SLICE);
      const valid: SinkRecord[] = [];
      for (let i = from; i < to; i += 1) {
        const record = records[i] as SourceRecord;
        if (record.rejected !== undefined) {
          this.#deadLetter(record, record.rejected, now);
          continue;
        }
        const result = decode(record.data);
        if (result.ok) valid.push({ event: result.event, raw: record.data, origin: record.origin });
        else this.#deadLetter(record, result.reason, now);
      }
      this.#eventsValid += valid.length;
      for (const sink of this.#o.sinks) await sink.write(valid);
    }
    await this.#o.deadLetters.flush();
  }

  /** A batch for a sink that decodes the records itself: only source rejections are handled here. */
  async #handleRaw(records: readonly SourceRecord[], sink: RawRecordSink): Promise<void> {
    const now = Date.now();
    this.#eventsIn += records.length;
    const reject = (record: SourceRecord, reason: string): void => this.#deadLetter(record, reason, now);
    let readable = records;
    if (records.some((record) => record.rejected !== undefined)) {
      readable = records.filter((record) => {
        if (record.rejected === undefined) return true;
        reject(record, record.rejected);
        return false;
      });
    }
    this.#eventsValid += await sink.writeRaw(readable, reject);
    await this.#o.deadLetters.flush();
  }

  /** An unparsed GetRecords body for a sink that reads it natively; a rejected record is parsed in JS for its origin. */
  async #handleKinesisBody(batch: SourceBatch, body: NonNullable<SourceBatch['kinesisBody']>, sink: RawRecordSink): Promise<void> {
    const now = Date.now();
    this.#eventsIn += body.count;
    try {
      this.#eventsValid += await sink.writeKinesisBody(body.body, () => batch.records, (index, reason) => {
        const record = batch.records[index];
        if (record === undefined) throw new Error(`the sink rejected record ${index} of a response of ${body.count}`);
        this.#deadLetter(record, reason, now);
      });
    } finally {
      body.body.release();
    }
    await this.#o.deadLetters.flush();
  }

  async #revoke(revocation: Revocation): Promise<void> {
    try {
      await this.#checkpoint();
      for (const partition of revocation.revoke) this.#positions.delete(partition);
      revocation.resolve();
    } catch (error) {
      revocation.reject(error);
      throw error;
    }
  }

  /** Records rejected by a sink after decoding (e.g. a partition that cannot be rendered). */
  rejectFromSink(record: SinkRecord, reason: string): void {
    this.#eventsValid -= 1;
    this.#deadLetter({ data: record.raw, origin: record.origin }, reason, Date.now());
  }

  async #checkpoint(): Promise<void> {
    this.#checkpointDue = false;
    const result = await this.#o.coordinator.checkpoint(this.#positions);
    const finished = [...this.#positions].filter(([, position]) => position === SHARD_END).map(([partition]) => partition);
    for (const partition of finished) this.#positions.delete(partition);
    await this.#o.source.checkpointed(this.#positions, finished);
    this.#checkpoints += 1;
    this.#lastCheckpoint = result;
    this.#o.log.info('checkpoint committed', {
      checkpointId: result.checkpointId,
      leases: result.leases,
      durationMs: Math.round(result.durationMs),
      preCommitMs: Math.round(result.phases.preCommitMs),
      persistMs: Math.round(result.phases.persistMs),
      commitMs: Math.round(result.phases.commitMs),
    });
    for (const request of this.#checkpointRequests.splice(0)) request.resolve(result);
  }
}
