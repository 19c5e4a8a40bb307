/**
 * Runs a source inside the real pipeline and checkpoint protocol (in-memory lease store), with a
 * sink that records what it was given: for tests of a source's ownership, resharding and resume
 * behaviour without an S3 output.
 */
import { createLogger } from '../../common/log.js';
import { CheckpointCoordinator } from '../../processor/checkpoint/coordinator.js';
import { leaseTimings, type LeaseTimings } from '../../processor/checkpoint/lease-manager.js';
import { LeaseTable } from '../../processor/checkpoint/lease-table.js';
import { MemoryLeaseStore } from '../../processor/checkpoint/memory-store.js';
import type { LeaseStore } from '../../processor/checkpoint/types.js';
import { BaseSink, type SinkRecord } from '../../processor/lifecycle.js';
import { Pipeline } from '../../processor/pipeline.js';
import { DeadLetterOutput } from '../../processor/sinks/dead-letter.js';
import { KinesisSource, type KinesisSourceOptions } from '../../processor/sources/kinesis/kinesis-source.js';

const log = createLogger('test', { level: 'silent' });

/** Records every record's text and origin, in the order written. */
class RecordingSink extends BaseSink {
  readonly name = 'recording';
  readonly records: SinkRecord[] = [];
  async write(records: readonly SinkRecord[]): Promise<void> {
    this.records.push(...records);
  }
}

/** A running source under test. */
export interface SourceRun {
  readonly store: LeaseStore;
  /** The texts read so far, in order. */
  texts(): string[];
  readonly sink: RecordingSink;
  stop(): Promise<void>;
}

/** Starts a Kinesis source in a pipeline; `store` lets a second run continue from the first's leases. */
export async function runKinesisSource(
  options: Omit<KinesisSourceOptions, 'log' | 'leases' | 'timings'>,
  store: LeaseStore = new MemoryLeaseStore(),
  runId = `run-${Math.random().toString(36).slice(2, 8)}`,
  timings: LeaseTimings = leaseTimings(2000, { balanceIntervalMs: 100, renewIntervalMs: 300 }),
): Promise<SourceRun> {
  const leases = new LeaseTable(store, runId);
  const source = new KinesisSource({ ...options, log, leases, timings });
  const sink = new RecordingSink();
  const deadLetters = new DeadLetterOutput({ log });
  const coordinator = new CheckpointCoordinator({ leases, sinks: [sink], log });
  const decode = (bytes: Uint8Array): { ok: true; event: { values: string[] } } => ({ ok: true, event: { values: [Buffer.from(bytes).toString()] } });
  const pipeline = new Pipeline({ source, decode, sinks: [sink], deadLetters, coordinator, checkpointIntervalMs: 200, log });
  await pipeline.start();
  return {
    store,
    sink,
    texts: () => sink.records.map((r) => String(r.event.values[0])),
    stop: () => pipeline.stop(),
  };
}
