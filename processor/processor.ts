/**
 * Assembles a processor from its configuration: schema and decoder, the source, the sinks, the
 * dead-letter output, the checkpoint store and coordinator, the status line and the health
 * endpoint; and runs it. Used by the CLI, `npm start`, the integration tests and the benchmarks.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { createLogger, type Logger } from '../common/log.js';
import type { CheckpointPhase, RecoveryReport } from './checkpoint/coordinator.js';
import { CheckpointCoordinator } from './checkpoint/coordinator.js';
import { DynamoDbLeaseStore } from './checkpoint/dynamodb-store.js';
import { leaseTimings, type LeaseTimings } from './checkpoint/lease-manager.js';
import { LeaseTable } from './checkpoint/lease-table.js';
import { MemoryLeaseStore } from './checkpoint/memory-store.js';
import type { LeaseStore } from './checkpoint/types.js';
import type { ProcessorConfig } from './config/types.js';
import { createSinks, createSource } from './connectors.js';
import { createDecoder } from './formats/decode.js';
import { isRawRecordSink, type Sink } from './lifecycle.js';
import { startHealthServer } from './health.js';
import { Pipeline, type PipelineStats } from './pipeline.js';
import { DeadLetterOutput } from './sinks/dead-letter.js';
import { createS3Client } from './sinks/s3/s3-sink.js';
import { checkOutputBucket, checkPartitionTemplate, loadEventSchema } from './startup-checks.js';
import { StatusReporter } from './status.js';

/** Options that are not runtime properties (tests, embedding). */
export interface StartProcessorOptions {
  readonly log?: Logger;
  /** This run's id (the lease owner; it names the run's output). @default host name + random suffix */
  readonly workerId?: string;
  /** How often the source lists shards again. @default 30000 */
  readonly shardDiscoveryIntervalMs?: number;
  /** Lease timings other than the duration (tests). */
  readonly leaseTimings?: Partial<LeaseTimings>;
  /** Fault-injection hook between checkpoint phases. */
  readonly afterCheckpointPhase?: (phase: CheckpointPhase, checkpointId: number) => Promise<void> | void;
}

/** A running processor. */
export interface ProcessorHandle {
  readonly config: ProcessorConfig;
  /** Where dead letters go (`s3` or `log`). */
  readonly deadLetterDestination: string;
  stats(): PipelineStats;
  /** What recoveries did so far (records committed again, dead runs cleaned up). */
  recovery(): RecoveryReport;
  /** This run's id. */
  readonly runId: string;
  /** Takes a checkpoint now (commits all output so far). */
  checkpointNow(): ReturnType<Pipeline['checkpointNow']>;
  /** Stops reading, takes the final checkpoint and closes everything. */
  stop(): Promise<void>;
  /** Settles when the processor ends (rejects on a fatal error). */
  readonly done: Promise<void>;
  /** The health endpoint's port, when enabled. */
  readonly healthPort?: number;
}

/** Builds and starts a processor. */
export async function startProcessor(config: ProcessorConfig, options: StartProcessorOptions = {}): Promise<ProcessorHandle> {
  const log = options.log ?? createLogger('processor', { fields: { app: config.applicationName } });
  const workerId = options.workerId ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
  const jobStartMs = Date.now();
  const schema = await loadEventSchema(config);
  checkPartitionTemplate(config, schema);
  const decode = createDecoder(schema);
  const s3Config = config.sinks.find((s) => s.kind === 's3');
  if (s3Config) {
    const s3 = createS3Client();
    try {
      await checkOutputBucket(config, s3);
    } finally {
      s3.destroy();
    }
  }

  const store: LeaseStore = config.checkpointTable
    ? new DynamoDbLeaseStore({ table: config.checkpointTable, application: config.applicationName })
    : new MemoryLeaseStore();
  if (!config.checkpointTable) log.warn('no CheckpointTable: output is committed at each checkpoint, but positions are not kept across restarts');
  const leases = new LeaseTable(store, workerId);
  const timings = leaseTimings(config.leaseDurationMs, {
    maxLeases: config.maxLeasesPerWorker,
    ...(config.leaseRenewIntervalMs !== undefined ? { renewIntervalMs: config.leaseRenewIntervalMs } : {}),
    ...(config.leaseBalanceIntervalMs !== undefined ? { balanceIntervalMs: config.leaseBalanceIntervalMs } : {}),
    ...options.leaseTimings,
  });
  const connectorContext = {
    config,
    schema,
    log,
    jobStartMs,
    leases,
    timings,
    ...(options.shardDiscoveryIntervalMs ? { shardDiscoveryIntervalMs: options.shardDiscoveryIntervalMs } : {}),
  };
  const sinks: Sink[] = await createSinks(connectorContext);
  // A sink that decodes the records itself (native Parquet) gets them raw when it is the only one,
  // and the Kinesis source then hands it response bodies unparsed.
  const only = sinks.length === 1 ? sinks[0] : undefined;
  const rawSink = only !== undefined && isRawRecordSink(only) ? only : undefined;
  const source = await createSource({ ...connectorContext, ...(rawSink ? { kinesisBodyScanner: rawSink.scanKinesisBody } : {}) });
  const deadLetters = new DeadLetterOutput({ log: log.child('dead-letter'), ...(s3Config ? { s3: { client: createS3Client(), config: s3Config } } : {}) });
  const coordinator = new CheckpointCoordinator({
    leases,
    sinks: [...sinks, deadLetters],
    log: log.child('checkpoint'),
    ...(options.afterCheckpointPhase ? { afterPhase: options.afterCheckpointPhase } : {}),
  });
  const late: { pipeline?: Pipeline } = {};
  // Sinks start, with their context, before any recovery commit runs.
  for (const sink of [...sinks, deadLetters]) {
    await sink.start({ runId: workerId, log: log.child(sink.name), reject: (record, reason) => late.pipeline?.rejectFromSink(record, reason) });
  }
  const running = new Pipeline({ source, decode, sinks, deadLetters, coordinator, checkpointIntervalMs: config.checkpointIntervalMs, log, ...(rawSink ? { rawSink } : {}) });
  late.pipeline = running;

  log.info('starting', {
    worker: workerId,
    source: source.description,
    sinks: sinks.map((s) => s.name),
    deadLetters: deadLetters.destination,
    checkpointStore: store.description,
    checkpointIntervalMs: config.checkpointIntervalMs,
    schema: schema.name,
  });
  await running.start();

  const status = new StatusReporter({ log: log.child('status'), namespace: config.metricsNamespace, application: config.applicationName });
  const statusTimer = setInterval(() => status.report(running.stats()), config.statusIntervalMs);
  statusTimer.unref();

  let healthy = true;
  let health: { server: Server; port: number } | undefined;
  if (config.healthCheckPort > 0) {
    health = await startHealthServer(config.healthCheckPort, () => ({ ok: healthy, detail: { eventsIn: running.stats().eventsIn } }));
  }
  const done = running.done.finally(async () => {
    healthy = false;
    clearInterval(statusTimer);
    status.report(running.stats());
    health?.server.close();
    await store.close();
  });
  done.catch(() => undefined);
  return {
    config,
    deadLetterDestination: deadLetters.destination,
    stats: () => running.stats(),
    recovery: () => coordinator.recovery,
    runId: workerId,
    checkpointNow: () => running.checkpointNow(),
    stop: async () => {
      await running.stop();
      await done;
    },
    done,
    ...(health ? { healthPort: health.port } : {}),
  };
}
