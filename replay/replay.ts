/**
 * The replay: read events (local files or S3), restore timestamp order with a bounded reorder
 * buffer, skip those before `seek`, pace them by event time, and write them to Kinesis with the
 * shared batching writer. `replay(options)` is the programmatic API (npm start and the tests call
 * it in-process); the CLI is a thin layer over it.
 *
 * Bad rows are skipped and counted, each logged (warn) with its line, column and value; with
 * `strict` the first one stops the replay. A record over the Kinesis record limit (data plus
 * partition key over 1 MiB) is rejected: logged with the reason and counted, and the replay goes
 * on. Records Kinesis will not take stop the replay with a ReplayError whose cause is the writer's
 * KinesisWriteError: nothing is lost silently. Input objects that are not read (hidden files,
 * subdirectories, empty files, unknown content) are logged with the reason and counted.
 *
 * With `aggregate`, events are sent as KPL-aggregated records: user records of one shard (by the
 * stream's hash key ranges, listed at the start) are packed into aggregates of at most
 * `aggregateMaxBytes`, each put with its first user record's partition key; an open aggregate is
 * sent after 100 ms (the KPL's RecordMaxBufferedTime) or when full.
 * amazon-kinesis-replay's watermark events are not sent (`-noWatermark` is accepted as a no-op).
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig, s3ForcePathStyle } from '../common/aws.js';
import { ConfigError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { KafkaClientError } from '../common/kafka/errors.js';
import { KinesisRecordRejectedError, KinesisWriteError, PutRecordsWriter, type PutRecordsWriterStats } from '../common/kinesis/index.js';
import { KafkaRecordRejectedError, KafkaRecordWriter } from './kafka-writer.js';

import type { KinesisRecord, PutRecordsClient } from '../common/kinesis/index.js';
import { Aggregator } from '../processor/sources/kinesis/kpl.js';
import { KplRecordRejectedError } from '../processor/sources/kinesis/kpl-errors.js';
import type { AggregatedRecordOut } from '../processor/sources/kinesis/kpl-types.js';
import { AGGREGATE_LINGER_MS, REPLAY_DEFAULTS } from './constants.js';
import { ReplayError, ReplayInputError } from './errors.js';
import { readEvents } from './input/events.js';
import { readLines } from './input/lines.js';
import { listLocalObjects, listS3Objects, parseS3Url } from './input/objects.js';
import type { InputObject } from './input/objects.js';
import { Pacer, systemClock } from './pacer.js';
import { ReorderBuffer } from './reorder.js';
import { loadShardMap } from './shard-map.js';
import type { ShardMap } from './shard-map.js';
import { StatsReporter, newCounters } from './stats.js';
import type { InputFormat, ReplayEvent, ReplayOptions, ReplaySummary } from './types.js';

/** What the replay writes through: the Kinesis PutRecords writer or the Kafka writer. */
interface ReplayWriter {
  write(records: KinesisRecord | readonly KinesisRecord[]): Promise<void>;
  close(): Promise<void>;
  readonly stats: PutRecordsWriterStats;
  readonly failure: Error | undefined;
}

/** Options with their defaults applied and checked. */
interface Resolved {
  speedup: number;
  timestampAttribute: string;
  statisticsFrequencyMs: number;
  format: InputFormat;
  reorderWindow: number;
  maxEvents: number | undefined;
  maxInFlight: number;
  seek: number | undefined;
  aggregate: boolean;
  aggregateMaxBytes: number;
}

function resolve(options: ReplayOptions): Resolved {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };
  const r: Resolved = {
    speedup: options.speedup ?? REPLAY_DEFAULTS.speedup,
    timestampAttribute: options.timestampAttribute ?? REPLAY_DEFAULTS.timestampAttribute,
    statisticsFrequencyMs: options.statisticsFrequencyMs ?? REPLAY_DEFAULTS.statisticsFrequencyMs,
    format: options.format ?? 'auto',
    reorderWindow: options.reorderWindow ?? REPLAY_DEFAULTS.reorderWindow,
    maxEvents: options.maxEvents,
    maxInFlight: options.maxInFlight ?? REPLAY_DEFAULTS.maxInFlight,
    seek: options.seek?.getTime(),
    aggregate: options.aggregate ?? false,
    aggregateMaxBytes: options.aggregateMaxBytes ?? REPLAY_DEFAULTS.aggregateMaxBytes,
  };
  check(typeof options.input === 'string' && options.input.length > 0, `input must be a path or s3:// URL, got ${JSON.stringify(options.input)}`);
  if (options.kafka !== undefined) {
    check(options.streamName === undefined, 'give either streamName (Kinesis) or kafka (a Kafka topic), not both');
    check(options.kafka.topic.length > 0 && options.kafka.bootstrapServers.length > 0, 'kafka needs a topic and bootstrap servers');
    check(!(options.aggregate ?? false), 'aggregate (KPL aggregation) applies to Kinesis only, not to a Kafka topic');
  } else {
    check(typeof options.streamName === 'string' && options.streamName.length > 0, `streamName must be a stream name or ARN, got ${JSON.stringify(options.streamName)}`);
  }
  check(r.speedup > 0, `speedup must be > 0, got ${r.speedup}`);
  check(r.timestampAttribute.length > 0, 'timestampAttribute must not be empty');
  check(Number.isInteger(r.statisticsFrequencyMs) && r.statisticsFrequencyMs >= 0, `statisticsFrequencyMs must be an integer ≥ 0, got ${r.statisticsFrequencyMs}`);
  check(['auto', 'csv', 'jsonl'].includes(r.format), `format must be auto, csv or jsonl, got ${JSON.stringify(r.format)}`);
  check(Number.isInteger(r.reorderWindow) && r.reorderWindow >= 0, `reorderWindow must be an integer ≥ 0, got ${r.reorderWindow}`);
  check(r.maxEvents === undefined || (Number.isInteger(r.maxEvents) && r.maxEvents >= 0), `maxEvents must be an integer ≥ 0, got ${r.maxEvents}`);
  check(Number.isInteger(r.maxInFlight) && r.maxInFlight >= 1, `maxInFlight must be an integer ≥ 1, got ${r.maxInFlight}`);
  check(r.seek === undefined || !Number.isNaN(r.seek), 'seek must be a valid date');
  check(
    Number.isInteger(r.aggregateMaxBytes) && r.aggregateMaxBytes >= 1024 && r.aggregateMaxBytes <= 1024 * 1024,
    `aggregateMaxBytes must be an integer from 1024 to 1048576 (1 MiB, the Kinesis record limit), got ${r.aggregateMaxBytes}`,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return r;
}

/** Counts the events of local input for the progress bar (lines, less CSV headers). */
async function countEvents(objects: readonly InputObject[]): Promise<number> {
  let total = 0;
  for (const object of objects) {
    let first = true;
    for await (const line of readLines(await object.open(), object.name)) {
      if (line.trim() === '') continue;
      if (first && /tpep_dropoff_datetime|vendorid/i.test(line) && !line.trimStart().startsWith('{')) {
        first = false;
        continue;
      }
      first = false;
      total += 1;
    }
  }
  return total;
}

/** Open aggregates per shard, sent when full, after the linger time, or at the end. */
class AggregatingSender {
  readonly #groups = new Map<string, { aggregator: Aggregator; since: number }>();
  readonly #maxBytes: number;
  readonly #shardMap: ShardMap | undefined;
  readonly #write: (records: readonly AggregatedRecordOut[]) => Promise<void>;
  readonly #timer: NodeJS.Timeout;
  #chain: Promise<void> = Promise.resolve();
  #failure: unknown;

  constructor(options: { maxBytes: number; shardMap: ShardMap | undefined; write: (records: readonly AggregatedRecordOut[]) => Promise<void> }) {
    this.#maxBytes = options.maxBytes;
    this.#shardMap = options.shardMap;
    this.#write = options.write;
    this.#timer = setInterval(() => void this.#serial(() => this.#flushOlderThan(Date.now() - AGGREGATE_LINGER_MS)).catch(() => undefined), AGGREGATE_LINGER_MS / 2);
    this.#timer.unref();
  }

  /** Adds a user record; throws KplRecordRejectedError (nothing taken) when it cannot be sent. */
  async add(record: KinesisRecord): Promise<void> {
    const group = this.#shardMap?.shardOf(record.partitionKey, record.explicitHashKey) ?? 'all';
    let entry = this.#groups.get(group);
    if (!entry) {
      entry = { aggregator: new Aggregator({ maxBytes: this.#maxBytes }), since: Date.now() };
      this.#groups.set(group, entry);
    }
    const open = entry;
    const wasEmpty = open.aggregator.pending === 0;
    const ready = open.aggregator.add(record);
    // The linger time runs from the first record of the open aggregate.
    if (wasEmpty || ready.length > 0) open.since = Date.now();
    await this.#serial(() => this.#write(ready));
  }

  /** Sends every open aggregate and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#serial(() => this.#flushOlderThan(Infinity));
  }

  /** Stops the timer without sending (after a failure). */
  abandon(): void {
    clearInterval(this.#timer);
  }

  async #flushOlderThan(limit: number): Promise<void> {
    const ready: AggregatedRecordOut[] = [];
    for (const entry of this.#groups.values()) {
      if (entry.aggregator.pending === 0 || entry.since > limit) continue;
      const done = entry.aggregator.flush();
      if (done) ready.push(done);
    }
    await this.#write(ready);
  }

  /** Runs writes one after another (the timer's and the replay loop's), keeping their order. */
  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(() => {
      if (this.#failure !== undefined) throw this.#failure;
      return task();
    });
    this.#chain = run.catch((error: unknown) => {
      this.#failure ??= error;
    });
    return run;
  }
}

/** Why a finished replay sent nothing, or undefined when it sent something or was stopped on purpose. */
export function nothingSentReason(summary: ReplaySummary): string | undefined {
  if (summary.eventsSent > 0 || summary.stoppedEarly) return undefined;
  const parts: string[] = [];
  if (summary.invalidRows > 0) parts.push(`${summary.invalidRows} invalid row(s)`);
  if (summary.rejectedRecords > 0) parts.push(`${summary.rejectedRecords} record(s) rejected`);
  if (summary.eventsSkipped > 0) parts.push(`${summary.eventsSkipped} event(s) before --seek`);
  if (summary.objectsSkipped > 0) parts.push(`${summary.objectsSkipped} input object(s) skipped`);
  return parts.length === 0 ? 'the input holds no events' : `no event could be sent: ${parts.join(', ')}`;
}

/** Replays the input into the stream and returns the summary. */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const o = resolve(options);
  const logger = options.logger ?? createLogger('replay');
  const clock = options.clock ?? systemClock;
  const signal = options.signal;
  const started = clock.now();

  const ownKinesis = options.kinesisClient || options.kafka ? undefined : new KinesisClient(baseClientConfig({ region: options.region, endpoint: options.endpoint }));
  const client: PutRecordsClient = options.kinesisClient ?? (ownKinesis as KinesisClient);
  // User records per acknowledged Kinesis record, so that eventsSent counts events when aggregating.
  const userRecords = new WeakMap<Uint8Array, number>();
  let eventsAcknowledged = 0;
  const kinesis: PutRecordsClient = {
    async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
      const output = await client.send(command);
      const entries = command.input.Records ?? [];
      (output.Records ?? []).forEach((result, i) => {
        if (result.ErrorCode) return;
        const data = entries[i]?.Data;
        eventsAcknowledged += (data && userRecords.get(data)) ?? 1;
      });
      return output;
    },
  };
  const location = parseS3Url(options.input);
  const ownS3 =
    location && !options.s3Client
      ? new S3Client({ ...baseClientConfig({ region: options.bucketRegion }), forcePathStyle: s3ForcePathStyle() })
      : undefined;
  const s3 = options.s3Client ?? ownS3;

  const destination = options.kafka ? `kafka:${options.kafka.topic}` : options.streamName!;
  const kafkaWriter = options.kafka ? new KafkaRecordWriter({ target: options.kafka, log: logger.child('writer'), onSent: (n) => (eventsAcknowledged += n) }) : undefined;
  const writer: ReplayWriter = kafkaWriter ?? new PutRecordsWriter({ client: kinesis, stream: options.streamName!, maxInFlight: o.maxInFlight, logger: logger.child('writer') });
  const pacer = new Pacer(o.speedup, clock);
  const reorder = new ReorderBuffer<ReplayEvent>(o.reorderWindow);
  const counters = newCounters();
  let total: number | undefined = o.maxEvents;
  const tty = options.progress === true || ((options.progress ?? 'auto') === 'auto' && process.stderr.isTTY) ? process.stderr : undefined;
  let reporter: StatsReporter | undefined;
  let stoppedEarly = false;
  let aggregating: AggregatingSender | undefined;

  try {
    const { objects, skipped } = location && s3 ? await listS3Objects(s3, location) : await listLocalObjects(options.input);
    for (const entry of skipped) {
      counters.objectsSkipped += 1;
      logger.warn('input skipped', { source: entry.name, reason: entry.reason });
    }
    if (objects.length === 0) {
      throw new ReplayInputError(`no input objects under ${options.input}${skipped.length > 0 ? ` (${skipped.length} entries skipped: ${skipped.map((e) => `${e.name}: ${e.reason}`).join('; ')})` : ''}`);
    }
    if (o.aggregate) {
      const lister = options.kinesisClient instanceof KinesisClient ? options.kinesisClient : ownKinesis;
      const shardMap = lister ? await loadShardMap(lister, options.streamName!) : undefined;
      if (!shardMap) logger.warn('aggregating without the shard map: the given client cannot list shards, so aggregates mix shards');
      aggregating = new AggregatingSender({
        maxBytes: o.aggregateMaxBytes,
        shardMap,
        write: async (records) => {
          for (const record of records) {
            userRecords.set(record.data, record.userRecords);
            counters.kinesisRecordsQueued += 1;
            await writer.write(record.explicitHashKey === undefined ? { data: record.data, partitionKey: record.partitionKey } : { data: record.data, partitionKey: record.partitionKey, explicitHashKey: record.explicitHashKey });
          }
        },
      });
    }
    logger.info('replay starting', {
      input: options.input,
      objects: objects.length,
      stream: destination,
      speedup: o.speedup,
      timestampAttribute: o.timestampAttribute,
      seek: o.seek === undefined ? null : new Date(o.seek).toISOString(),
      reorderWindow: o.reorderWindow,
      aggregate: o.aggregate,
    });
    if (tty && total === undefined && objects.every((object) => object.local)) {
      countEvents(objects).then(
        (n) => (total = n),
        () => undefined,
      );
    }
    reporter = new StatsReporter(
      {
        counters,
        writer: () => writer.stats,
        eventsSent: () => eventsAcknowledged,
        lagMs: () => pacer.lagMs,
        maxLagMs: () => pacer.maxLagMs,
        total: () => total,
      },
      { logger, clock, frequencyMs: o.statisticsFrequencyMs, progressStream: tty },
    );

    const send = async (event: ReplayEvent): Promise<void> => {
      const { late } = await pacer.wait(event.timestamp, signal);
      if (late) counters.lateEvents += 1;
      else counters.lastEventTime = event.timestamp;
      counters.firstEventTime ??= event.timestamp;
      try {
        if (aggregating) await aggregating.add({ data: event.data, partitionKey: event.partitionKey });
        else await writer.write({ data: event.data, partitionKey: event.partitionKey });
      } catch (error) {
        if (!(error instanceof KinesisRecordRejectedError || error instanceof KplRecordRejectedError || error instanceof KafkaRecordRejectedError)) throw error;
        // Nothing of the record was taken: count it, say why, and go on.
        counters.rejectedRecords += 1;
        logger.warn('record rejected', { source: event.source, line: event.line, partitionKey: event.partitionKey, reason: error.message });
        return;
      }
      counters.eventsQueued += 1;
    };

    let accepted = 0;
    if (o.maxEvents !== 0) {
      for await (const item of readEvents(objects, { format: o.format, timestampAttribute: o.timestampAttribute })) {
        if (signal?.aborted) {
          stoppedEarly = true;
          break;
        }
        if (item.kind === 'skipped') {
          counters.objectsSkipped += 1;
          logger.warn('input skipped', { source: item.source, reason: item.reason });
          continue;
        }
        if (item.kind === 'invalid') {
          counters.invalidRows += 1;
          if (options.strict) throw item.error;
          const { source, line, column, value } = item.error;
          logger.warn('invalid row skipped', { error: item.error.message, source, line, column, value });
          continue;
        }
        const event = item.event;
        counters.eventsRead += 1;
        if (o.seek !== undefined && event.timestamp < o.seek) {
          counters.eventsSkipped += 1;
          continue;
        }
        const out = reorder.push(event.timestamp, event);
        if (out) await send(out);
        accepted += 1;
        if (o.maxEvents !== undefined && accepted >= o.maxEvents) {
          stoppedEarly = true;
          break;
        }
      }
    } else stoppedEarly = true;
    for (const event of reorder.drain()) {
      if (signal?.aborted) {
        stoppedEarly = true;
        break;
      }
      await send(event);
    }
    await aggregating?.close();
    await writer.close();
  } catch (error) {
    // Whatever stopped the replay, what was handed to the writer is still delivered when possible.
    aggregating?.abandon();
    if (!writer.failure) await writer.close().catch(() => undefined);
    const failure = writer.failure ?? error;
    if (failure instanceof KafkaClientError) {
      const stats = writer.stats;
      throw new ReplayError(`replay stopped: records could not be written to ${destination}; ${stats.recordsSent} of the ${stats.recordsWritten} handed to the writer were written`, { cause: failure });
    }
    if (failure instanceof KinesisWriteError) {
      const stats = writer.stats;
      const unit = o.aggregate ? 'Kinesis record(s) (KPL aggregates)' : 'record(s)';
      const notWritten = stats.recordsWritten - stats.recordsSent;
      throw new ReplayError(
        `replay stopped: ${notWritten} ${unit} could not be written to ${destination} ` +
          `(${stats.failedRecords} given up on, ${notWritten - stats.failedRecords} not attempted after the failure); ` +
          `${stats.recordsSent} of the ${stats.recordsWritten} handed to the writer were written`,
        { cause: failure },
      );
    }
    throw error;
  } finally {
    reporter?.stop();
    ownKinesis?.destroy();
    ownS3?.destroy();
  }

  const durationMs = clock.now() - started;
  const stats = writer.stats;
  const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
  const summary: ReplaySummary = {
    eventsRead: counters.eventsRead,
    eventsSent: eventsAcknowledged,
    kinesisRecordsSent: stats.recordsSent,
    eventsSkipped: counters.eventsSkipped,
    invalidRows: counters.invalidRows,
    rejectedRecords: counters.rejectedRecords,
    objectsSkipped: counters.objectsSkipped,
    lateEvents: counters.lateEvents,
    retries: stats.retries,
    throttles: stats.throttles,
    bytesSent: stats.bytesSent,
    maxReplayLagMs: Math.round(pacer.maxLagMs),
    durationMs,
    eventsPerSecond: durationMs > 0 ? Math.round((eventsAcknowledged * 1000) / durationMs) : eventsAcknowledged,
    firstEventTime: iso(counters.firstEventTime),
    lastEventTime: iso(counters.lastEventTime),
    stoppedEarly,
  };
  logger.info('replay finished', { ...summary });
  const nothing = nothingSentReason(summary);
  if (nothing) logger.error('replay sent nothing', { reason: nothing });
  return summary;
}
