import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROCESSOR_METRICS } from '../../common/properties/index.js';
import { createLogger } from '../../common/log.js';
import { StatusReporter } from '../../processor/status.js';
import type { PipelineStats } from '../../processor/pipeline.js';

function stats(overrides: Partial<PipelineStats> = {}): PipelineStats {
  return { eventsIn: 0, eventsValid: 0, eventsRejected: 0, eventsOut: { s3: 0 }, checkpoints: 0, millisBehindLatest: 0, activeShards: 2, stalledShards: [], ownedPartitions: 2, queuedBatches: 0, ...overrides };
}

test('each status line is an embedded-metric-format document with the deltas since the last line', () => {
  // Given a reporter writing into a list
  const lines: string[] = [];
  const reporter = new StatusReporter({ log: createLogger('t', { level: 'info', sink: (l) => lines.push(l) }), namespace: 'Ns', application: 'app-1' });

  // When two snapshots are reported ten seconds apart
  reporter.report(stats({ eventsIn: 100, eventsRejected: 1, eventsOut: { s3: 50 } }), 1_000_000);
  reporter.report(
    stats({ eventsIn: 1100, eventsRejected: 3, eventsOut: { s3: 950 }, checkpoints: 1, millisBehindLatest: 1234, lastCheckpoint: { checkpointId: 1, durationMs: 87.4, leases: 2, phases: { preCommitMs: 1, persistMs: 1, commitMs: 1 } } }),
    1_010_000,
  );

  // Then the second line carries the rate, the deltas, the gauges and the EMF metadata
  const line = JSON.parse(lines[1]!) as Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
  assert.equal(line.msg, 'status');
  assert.equal(line.eventsPerSecond, 100);
  assert.equal(line[PROCESSOR_METRICS.eventsIn], 1000);
  assert.equal(line[PROCESSOR_METRICS.eventsOut], 900);
  assert.equal(line[PROCESSOR_METRICS.eventsRejected], 2);
  assert.equal(line[PROCESSOR_METRICS.millisBehindLatest], 1234);
  assert.equal(line[PROCESSOR_METRICS.checkpointDuration], 87);
  assert.equal(line.ApplicationName, 'app-1');
  const emf = line._aws.CloudWatchMetrics[0]!;
  assert.equal(line._aws.Timestamp, 1_010_000);
  assert.equal(emf.Namespace, 'Ns');
  assert.deepEqual(emf.Dimensions, [['ApplicationName']]);
  for (const metric of emf.Metrics) assert.ok(metric.Name in line, `${metric.Name} has a value`);
  assert.ok(emf.Metrics.some((m) => m.Name === PROCESSOR_METRICS.checkpointDuration));
});
