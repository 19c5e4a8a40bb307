/**
 * The replay's statistics: counters, a structured log line every `statisticsFrequency` ms
 * (events read and sent, events/s over the interval and overall, replay lag, retries,
 * throttles), and a progress bar on stderr when it is a terminal.
 */
import type { Logger } from '../common/log.js';
import type { PutRecordsWriterStats } from '../common/kinesis/index.js';
import type { Clock } from './pacer.js';

/** The replay's own counters (the writer keeps the Kinesis ones). */
export interface ReplayCounters {
  eventsRead: number;
  eventsSkipped: number;
  invalidRows: number;
  /** Events Kinesis could never take (over the record limit). */
  rejectedRecords: number;
  /** Input entries not read. */
  objectsSkipped: number;
  lateEvents: number;
  /** Events handed to the writer (or to the aggregator). */
  eventsQueued: number;
  /** Aggregates handed to the writer. */
  kinesisRecordsQueued: number;
  lastEventTime: number | undefined;
  firstEventTime: number | undefined;
}

/** Creates zeroed counters. */
export function newCounters(): ReplayCounters {
  return {
    eventsRead: 0,
    eventsSkipped: 0,
    invalidRows: 0,
    rejectedRecords: 0,
    objectsSkipped: 0,
    lateEvents: 0,
    eventsQueued: 0,
    kinesisRecordsQueued: 0,
    lastEventTime: undefined,
    firstEventTime: undefined,
  };
}

/** What the reporter reads each tick. */
export interface StatsSource {
  readonly counters: ReplayCounters;
  writer(): PutRecordsWriterStats;
  /** Events acknowledged by Kinesis (user records when aggregating). */
  eventsSent(): number;
  lagMs(): number;
  maxLagMs(): number;
  /** Events expected in all, when known (for the progress bar). */
  total(): number | undefined;
}

/** Renders a one-line progress bar (no newline). */
export function renderProgress(sent: number, total: number | undefined, eventsPerSecond: number, lagMs: number, width = 30): string {
  const rate = `${Math.round(eventsPerSecond)} ev/s, lag ${(lagMs / 1000).toFixed(1)} s`;
  if (total === undefined || total <= 0) return `${sent} events sent, ${rate}`;
  const fraction = Math.min(1, sent / total);
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${sent}/${total} ${(fraction * 100).toFixed(0)}% ${rate}`;
}

/** Logs statistics periodically and draws the progress bar; `stop()` ends both. */
export class StatsReporter {
  readonly #source: StatsSource;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #tty: NodeJS.WriteStream | undefined;
  readonly #started: number;
  #lastTick: number;
  #lastSent = 0;
  #rate = 0;
  #timers: NodeJS.Timeout[] = [];
  #barShown = false;

  constructor(source: StatsSource, options: { logger: Logger; clock: Clock; frequencyMs: number; progressStream?: NodeJS.WriteStream }) {
    this.#source = source;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#tty = options.progressStream;
    this.#started = this.#clock.now();
    this.#lastTick = this.#started;
    if (options.frequencyMs > 0) {
      const timer = setInterval(() => this.tick(), options.frequencyMs);
      timer.unref();
      this.#timers.push(timer);
    }
    if (this.#tty) {
      const timer = setInterval(() => this.#drawBar(), 250);
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /** The statistics now, as logged. */
  snapshot(): Record<string, unknown> {
    const now = this.#clock.now();
    const writer = this.#source.writer();
    const interval = (now - this.#lastTick) / 1000;
    const sent = this.#source.eventsSent();
    if (interval > 0) this.#rate = (sent - this.#lastSent) / interval;
    const elapsed = (now - this.#started) / 1000;
    const { counters } = this.#source;
    return {
      eventsRead: counters.eventsRead,
      eventsSent: sent,
      kinesisRecordsSent: writer.recordsSent,
      eventsSkipped: counters.eventsSkipped,
      invalidRows: counters.invalidRows,
      rejectedRecords: counters.rejectedRecords,
      eventsPerSecond: Math.round(this.#rate),
      eventsPerSecondOverall: elapsed > 0 ? Math.round(sent / elapsed) : 0,
      replayLagMs: Math.round(this.#source.lagMs()),
      maxReplayLagMs: Math.round(this.#source.maxLagMs()),
      retries: writer.retries,
      throttles: writer.throttles,
      inFlightRequests: writer.inFlight,
      eventTime: counters.lastEventTime === undefined ? null : new Date(counters.lastEventTime).toISOString(),
    };
  }

  /** Logs one statistics line now. */
  tick(): void {
    const stats = this.snapshot();
    this.#lastTick = this.#clock.now();
    this.#lastSent = stats.eventsSent as number;
    this.#clearBar();
    this.#logger.info('replay statistics', stats);
    this.#drawBar();
  }

  /** Stops the timers and clears the bar. */
  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#clearBar();
  }

  #drawBar(): void {
    if (!this.#tty) return;
    const sent = this.#source.eventsSent();
    const elapsed = (this.#clock.now() - this.#started) / 1000;
    const rate = elapsed > 0 ? sent / elapsed : 0;
    const line = renderProgress(sent, this.#source.total(), rate, this.#source.lagMs(), 30);
    this.#tty.write(`\r\x1b[K${line.slice(0, Math.max(20, (this.#tty.columns ?? 100) - 1))}`);
    this.#barShown = true;
  }

  #clearBar(): void {
    if (this.#tty && this.#barShown) this.#tty.write('\r\x1b[K');
    this.#barShown = false;
  }
}
