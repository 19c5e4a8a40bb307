/**
 * Assembles a processor from its configuration: schema and decoder, the source, the sinks, the
 * dead-letter output, the checkpoint store and coordinator, the status line and the health
 * endpoint; and runs it. Used by the CLI, `npm start`, the integration tests and the benchmarks.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { ConfigError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/log.js';
import { CheckpointCoordinator, type RecoveryReport } from './checkpoint/coordinator.js';
import { DynamoDbCheckpointStore } from './checkpoint/dynamodb-store.js';
import { MemoryCheckpointStore } from './checkpoint/memory-store.js';
import type { CheckpointStore } from './checkpoint/types.js';
import type { ProcessorConfig } from './config/types.js';
import { createDecoder } from './formats/decode.js';
import { createFileFormat } from './formats/index.js';
import { loadSchema } from './formats/schema.js';
import type { Sink } from './lifecycle.js';
import { startHealthServer } from './health.js';
import { Pipeline, type PipelineStats } from './pipeline.js';
import { DeadLetterOutput } from './sinks/dead-letter.js';
import { DiscardSink } from './sinks/discard-sink.js';
import { KinesisSink } from './sinks/kinesis-sink.js';
import { S3Sink, createS3Client } from './sinks/s3/s3-sink.js';
import { KinesisSource } from './sources/kinesis/kinesis-source.js';
import type { Source } from './sources/types.js';
import { StatusReporter } from './status.js';

/** Options that are not runtime properties (tests, embedding). */
export interface StartProcessorOptions {
  readonly log?: Logger;
  /** This worker's id (the lease owner). @default host name + random suffix */
  readonly workerId?: string;
  /** How often the source lists shards again. @default 30000 */
  readonly shardDiscoveryIntervalMs?: number;
  /** Fault-injection hook between checkpoint phases. */
  readonly afterCheckpointPhase?: (phase: 'pre-commit' | 'persist' | 'commit', checkpointId: number) => Promise<void> | void;
}

/** A running processor. */
export interface ProcessorHandle {
  readonly config: ProcessorConfig;
  /** Where dead letters go (`s3` or `log`). */
  readonly deadLetterDestination: string;
  stats(): PipelineStats;
  /** What the start-up recovery did (re-committed and orphaned uploads). */
  recovery(): RecoveryReport | undefined;
  /** Takes a checkpoint now (commits all output so far). */
  checkpointNow(): ReturnType<Pipeline['checkpointNow']>;
  /** Stops reading, takes the final checkpoint and closes everything. */
  stop(): Promise<void>;
  /** Settles when the processor ends (rejects on a fatal error). */
  readonly done: Promise<void>;
  /** The health endpoint's port, when enabled. */
  readonly healthPort?: number;
}

function notYetAvailable(property: string, what: string): ConfigError {
  return new ConfigError([`${property}: the ${what} is not available in this version of streaming-etl; remove the property or use another one`]);
}

/** Builds and starts a processor. */
export async function startProcessor(config: ProcessorConfig, options: StartProcessorOptions = {}): Promise<ProcessorHandle> {
  const log = options.log ?? createLogger('processor', { fields: { app: config.applicationName } });
  const workerId = options.workerId ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
  const jobStartMs = Date.now();
  const schema = await loadSchema(config.eventSchema);
  const decode = createDecoder(schema);

  let source: Source;
  if (config.source.kind === 'kinesis') {
    source = new KinesisSource({
      streamName: config.source.streamName,
      ...(config.source.streamArn ? { streamArn: config.source.streamArn } : {}),
      ...(config.source.region ? { region: config.source.region } : {}),
      initialPosition: config.source.initialPosition,
      log: log.child('source'),
      ...(options.shardDiscoveryIntervalMs ? { shardDiscoveryIntervalMs: options.shardDiscoveryIntervalMs } : {}),
    });
  } else {
    throw notYetAvailable('InputKafkaTopic', 'Kafka source');
  }

  // The S3 sink rejects events whose partition cannot be rendered; they reach the pipeline's
  // dead letters through this late-bound callback.
  const late: { pipeline?: Pipeline; coordinator?: CheckpointCoordinator } = {};
  // Uploads start only after recovery, when the coordinator holds the lease.
  const registerUpload = async (entry: string): Promise<void> => {
    if (!late.coordinator) throw new Error('an upload started before the checkpoint coordinator existed');
    await late.coordinator.registerUpload(entry);
  };
  const sinks: Sink[] = [];
  let deadLetterS3: ConstructorParameters<typeof DeadLetterOutput>[0]['s3'];
  for (const sink of config.sinks) {
    switch (sink.kind) {
      case 's3': {
        const format = await createFileFormat(schema, { format: sink.format, parquetEncoder: sink.parquetEncoder, compression: sink.parquetCompression });
        const client = createS3Client();
        sinks.push(
          new S3Sink({
            config: sink,
            schema,
            format,
            log: log.child('s3'),
            jobStartMs,
            client,
            registerUpload,
            reject: (record, reason) => late.pipeline?.rejectFromSink(record, reason),
          }),
        );
        deadLetterS3 ??= { client, config: sink };
        break;
      }
      case 'kinesis':
        sinks.push(new KinesisSink({ config: sink, schema, log: log.child('kinesis-sink') }));
        break;
      case 'discard':
        sinks.push(new DiscardSink());
        break;
      case 'kafka':
        throw notYetAvailable('OutputKafkaTopic', 'Kafka sink');
      case 'opensearch':
        throw notYetAvailable('OutputElasticsearchEndpoint', 'OpenSearch sink');
    }
  }
  const deadLetters = new DeadLetterOutput({ log: log.child('dead-letter'), registerUpload, ...(deadLetterS3 ? { s3: deadLetterS3 } : {}) });
  const store: CheckpointStore = config.checkpointTable
    ? new DynamoDbCheckpointStore({ table: config.checkpointTable, key: config.applicationName })
    : new MemoryCheckpointStore();
  if (!config.checkpointTable) log.warn('no CheckpointTable: output is committed at each checkpoint, but positions are not kept across restarts');
  const coordinator = new CheckpointCoordinator({
    store,
    participants: [...sinks, deadLetters],
    log: log.child('checkpoint'),
    owner: workerId,
    ...(options.afterCheckpointPhase ? { afterPhase: options.afterCheckpointPhase } : {}),
  });
  late.coordinator = coordinator;
  const running = new Pipeline({ source, decode, sinks, deadLetters, coordinator, checkpointIntervalMs: config.checkpointIntervalMs, log });
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
    checkpointNow: () => running.checkpointNow(),
    stop: async () => {
      await running.stop();
      await done;
    },
    done,
    ...(health ? { healthPort: health.port } : {}),
  };
}
