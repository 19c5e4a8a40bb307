/**
 * The replay: read events (local files or S3), restore timestamp order with a bounded reorder
 * buffer, skip those before `seek`, pace them by event time, and write them to Kinesis with the
 * shared batching writer. `replay(options)` is the programmatic API (npm start and the tests call
 * it in-process); the CLI is a thin layer over it.
 *
 * Bad rows are skipped and counted, each logged (warn) with its line, column and value; with
 * `strict` the first one stops the replay. Records Kinesis will not take stop the replay with a
 * ReplayError whose cause is the writer's KinesisWriteError: nothing is lost silently.
 * amazon-kinesis-replay's watermark events are not sent (`-noWatermark` is accepted as a no-op).
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig, s3ForcePathStyle } from '../common/aws.js';
import { ConfigError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { KinesisWriteError, PutRecordsWriter } from '../common/kinesis/index.js';
import type { PutRecordsClient } from '../common/kinesis/index.js';
import { REPLAY_DEFAULTS } from './constants.js';
import { ReplayError, ReplayInputError } from './errors.js';
import { readEvents } from './input/events.js';
import { readLines } from './input/lines.js';
import { listLocalObjects, listS3Objects, parseS3Url } from './input/objects.js';
import type { InputObject } from './input/objects.js';
import { Pacer, systemClock } from './pacer.js';
import { ReorderBuffer } from './reorder.js';
import { StatsReporter, newCounters } from './stats.js';
import type { InputFormat, ReplayEvent, ReplayOptions, ReplaySummary } from './types.js';

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
  };
  check(typeof options.input === 'string' && options.input.length > 0, `input must be a path or s3:// URL, got ${JSON.stringify(options.input)}`);
  check(typeof options.streamName === 'string' && options.streamName.length > 0, `streamName must be a stream name or ARN, got ${JSON.stringify(options.streamName)}`);
  check(r.speedup > 0, `speedup must be > 0, got ${r.speedup}`);
  check(r.timestampAttribute.length > 0, 'timestampAttribute must not be empty');
  check(Number.isInteger(r.statisticsFrequencyMs) && r.statisticsFrequencyMs >= 0, `statisticsFrequencyMs must be an integer ≥ 0, got ${r.statisticsFrequencyMs}`);
  check(['auto', 'csv', 'jsonl'].includes(r.format), `format must be auto, csv or jsonl, got ${JSON.stringify(r.format)}`);
  check(Number.isInteger(r.reorderWindow) && r.reorderWindow >= 0, `reorderWindow must be an integer ≥ 0, got ${r.reorderWindow}`);
  check(r.maxEvents === undefined || (Number.isInteger(r.maxEvents) && r.maxEvents >= 0), `maxEvents must be an integer ≥ 0, got ${r.maxEvents}`);
  check(Number.isInteger(r.maxInFlight) && r.maxInFlight >= 1, `maxInFlight must be an integer ≥ 1, got ${r.maxInFlight}`);
  check(r.seek === undefined || !Number.isNaN(r.seek), 'seek must be a valid date');
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

/** Replays the input into the stream and returns the summary. */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const o = resolve(options);
  const logger = options.logger ?? createLogger('replay');
  const clock = options.clock ?? systemClock;
  const signal = options.signal;
  const started = clock.now();

  const ownKinesis = options.kinesisClient ? undefined : new KinesisClient(baseClientConfig({ region: options.region, endpoint: options.endpoint }));
  const kinesis: PutRecordsClient = options.kinesisClient ?? (ownKinesis as KinesisClient);
  const location = parseS3Url(options.input);
  const ownS3 =
    location && !options.s3Client
      ? new S3Client({ ...baseClientConfig({ region: options.bucketRegion }), forcePathStyle: s3ForcePathStyle() })
      : undefined;
  const s3 = options.s3Client ?? ownS3;

  const writer = new PutRecordsWriter({ client: kinesis, stream: options.streamName, maxInFlight: o.maxInFlight, logger: logger.child('writer') });
  const pacer = new Pacer(o.speedup, clock);
  const reorder = new ReorderBuffer<ReplayEvent>(o.reorderWindow);
  const counters = newCounters();
  let total: number | undefined = o.maxEvents;
  const tty = options.progress === true || ((options.progress ?? 'auto') === 'auto' && process.stderr.isTTY) ? process.stderr : undefined;
  let reporter: StatsReporter | undefined;
  let stoppedEarly = false;

  try {
    const objects = location && s3 ? await listS3Objects(s3, location) : await listLocalObjects(options.input);
    if (objects.length === 0) throw new ReplayInputError(`no input objects under ${options.input}`);
    logger.info('replay starting', {
      input: options.input,
      objects: objects.length,
      stream: options.streamName,
      speedup: o.speedup,
      timestampAttribute: o.timestampAttribute,
      seek: o.seek === undefined ? null : new Date(o.seek).toISOString(),
      reorderWindow: o.reorderWindow,
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
      await writer.write({ data: event.data, partitionKey: event.partitionKey });
      counters.eventsQueued += 1;
    };

    let accepted = 0;
    if (o.maxEvents !== 0) {
      for await (const item of readEvents(objects, { format: o.format, timestampAttribute: o.timestampAttribute })) {
        if (signal?.aborted) {
          stoppedEarly = true;
          break;
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
    await writer.close();
  } catch (error) {
    // Whatever stopped the replay, what was handed to the writer is still delivered when possible.
    if (!writer.failure) await writer.close().catch(() => undefined);
    const failure = writer.failure ?? error;
    if (failure instanceof KinesisWriteError) {
      throw new ReplayError(
        `replay stopped: ${failure.records.length} record(s) could not be written to ${options.streamName} (${writer.stats.recordsSent} were)`,
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
    eventsSent: stats.recordsSent,
    eventsSkipped: counters.eventsSkipped,
    invalidRows: counters.invalidRows,
    lateEvents: counters.lateEvents,
    retries: stats.retries,
    throttles: stats.throttles,
    bytesSent: stats.bytesSent,
    maxReplayLagMs: Math.round(pacer.maxLagMs),
    durationMs,
    eventsPerSecond: durationMs > 0 ? Math.round((stats.recordsSent * 1000) / durationMs) : stats.recordsSent,
    firstEventTime: iso(counters.firstEventTime),
    lastEventTime: iso(counters.lastEventTime),
    stoppedEarly,
  };
  logger.info('replay finished', { ...summary });
  return summary;
}
