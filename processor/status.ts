/**
 * The periodic status line: events in/out/rejected, events/s, lag behind the stream tip, the last
 * checkpoint. Each line is also a CloudWatch embedded-metric-format document (the `_aws` member),
 * so in the cloud the log line is the metric: no PutMetricData calls on the hot path.
 */
import { PROCESSOR_METRICS } from '../common/properties/index.js';
import type { Logger } from '../common/log.js';
import type { PipelineStats } from './pipeline.js';

/** Builds status lines from successive stats snapshots. */
export class StatusReporter {
  readonly #log: Logger;
  readonly #namespace: string;
  readonly #application: string;
  #previous: { at: number; eventsIn: number; eventsRejected: number; out: number; checkpoints: number } | undefined;

  constructor(options: { log: Logger; namespace: string; application: string }) {
    this.#log = options.log;
    this.#namespace = options.namespace;
    this.#application = options.application;
  }

  /** Logs one status line for `stats` (rates over the time since the previous line). */
  report(stats: PipelineStats, now = Date.now()): void {
    const out = Object.values(stats.eventsOut).reduce((a, b) => Math.max(a, b), 0);
    const prev = this.#previous ?? { at: now, eventsIn: 0, eventsRejected: 0, out: 0, checkpoints: 0 };
    const seconds = Math.max(0.001, (now - prev.at) / 1000);
    const rate = this.#previous ? (stats.eventsIn - prev.eventsIn) / seconds : 0;
    this.#previous = { at: now, eventsIn: stats.eventsIn, eventsRejected: stats.eventsRejected, out, checkpoints: stats.checkpoints };
    const m = PROCESSOR_METRICS;
    this.#log.info('status', {
      eventsIn: stats.eventsIn,
      eventsOut: stats.eventsOut,
      eventsRejected: stats.eventsRejected,
      eventsPerSecond: Math.round(rate),
      millisBehindLatest: stats.millisBehindLatest,
      activeShards: stats.activeShards,
      ownedPartitions: stats.ownedPartitions,
      ...(stats.stalledShards.length > 0 ? { stalledShards: stats.stalledShards } : {}),
      checkpoints: stats.checkpoints,
      ...(stats.sourceProgress ? { input: stats.sourceProgress } : {}),
      ...(stats.lastCheckpoint ? { lastCheckpointId: stats.lastCheckpoint.checkpointId } : {}),
      // Embedded metric format: the deltas since the last line, and the gauges.
      ApplicationName: this.#application,
      [m.eventsIn]: stats.eventsIn - prev.eventsIn,
      [m.eventsOut]: out - prev.out,
      [m.eventsRejected]: stats.eventsRejected - prev.eventsRejected,
      [m.millisBehindLatest]: stats.millisBehindLatest,
      [m.checkpointsCompleted]: stats.checkpoints - prev.checkpoints,
      ...(stats.lastCheckpoint ? { [m.checkpointDuration]: Math.round(stats.lastCheckpoint.durationMs) } : {}),
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [
          {
            Namespace: this.#namespace,
            Dimensions: [['ApplicationName']],
            Metrics: [
              { Name: m.eventsIn, Unit: 'Count' },
              { Name: m.eventsOut, Unit: 'Count' },
              { Name: m.eventsRejected, Unit: 'Count' },
              { Name: m.millisBehindLatest, Unit: 'Milliseconds' },
              { Name: m.checkpointsCompleted, Unit: 'Count' },
              ...(stats.lastCheckpoint ? [{ Name: m.checkpointDuration, Unit: 'Milliseconds' }] : []),
            ],
          },
        ],
      },
    });
  }
}
