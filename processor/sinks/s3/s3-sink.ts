/**
 * The S3 sink: events into Parquet or JSON-lines part files, partitioned Hive-style by a template
 * over event fields and event time, committed exactly once through multipart uploads completed at
 * checkpoint commit (see partitioned-writer.ts and multipart.ts).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig, s3ForcePathStyle } from '../../../common/aws.js';
import type { Logger } from '../../../common/log.js';
import type { S3SinkConfig } from '../../config/types.js';
import { compilePartitionTemplate } from '../../config/partition-template.js';
import type { DecodedEvent, EventSchema, FileFormat } from '../../formats/types.js';
import type { Sink, SinkContext, SinkRecord } from '../../lifecycle.js';
import { SinkError } from '../errors.js';
import type { PendingUpload } from './multipart.js';
import { PartitionedWriter, type PartitionedWriterOptions, type PlacedItem } from './partitioned-writer.js';

/** What the S3 sink's pre-commit hands to the checkpoint. */
export interface S3PendingCommit {
  readonly uploads: readonly PendingUpload[];
}

/**
 * The S3 client options that cut the SDK's CPU per request; every part file costs three requests
 * (CreateMultipartUpload, UploadPart, CompleteMultipartUpload), so they are most of a small file's
 * cost (bench/part-files.ts).
 * - `cacheMiddleware`: the middleware stack is resolved once per command type instead of at every
 *   send (nothing here adds middleware to a single command).
 * - `requestChecksumCalculation: 'WHEN_REQUIRED'`: no CRC32 of each uploaded body on top of the
 *   SHA-256 that Signature V4 already computes over it (`x-amz-content-sha256`, checked by S3), so
 *   a part's integrity is still verified; operations that require a checksum still get one.
 *   Response checksums (the file source's GetObject) are still validated.
 */
export const S3_CLIENT_CPU_OPTIONS = { cacheMiddleware: true, requestChecksumCalculation: 'WHEN_REQUIRED' } as const;

/** Creates the S3 client the sinks use (path-style when AWS_S3_FORCE_PATH_STYLE is set). */
export function createS3Client(region?: string): S3Client {
  return new S3Client({ ...baseClientConfig(region ? { region } : {}), forcePathStyle: s3ForcePathStyle(), ...S3_CLIENT_CPU_OPTIONS });
}

/**
 * The two-phase-commit half shared by the S3 sink and the dead-letter output: a partitioned writer
 * created at start (its keys name the run), pre-commit rolls and returns the uploads, commit
 * completes them, and a dead run's open uploads are aborted.
 */
export abstract class PartitionedS3Committer<T> implements Sink<S3PendingCommit> {
  abstract readonly name: string;
  protected writer: PartitionedWriter<T> | undefined;
  protected readonly client: S3Client;

  constructor(client: S3Client) {
    this.client = client;
  }

  /** The writer's options, but for the run id. */
  protected abstract writerOptions(log: Logger): Omit<PartitionedWriterOptions<T>, 'runId'>;

  get eventsOut(): number {
    return 0;
  }

  async start(context: SinkContext): Promise<void> {
    this.writer = new PartitionedWriter<T>({ ...this.writerOptions(context.log), runId: context.runId });
  }

  abstract write(records: readonly SinkRecord[]): Promise<void>;

  protected started(): PartitionedWriter<T> {
    if (!this.writer) throw new SinkError(`the ${this.name} output was used before start()`);
    return this.writer;
  }

  async preCommit(_checkpointId: number): Promise<S3PendingCommit | undefined> {
    const uploads = await this.started().preCommit();
    return uploads.length > 0 ? { uploads } : undefined;
  }

  async commit(pending: S3PendingCommit, checkpointId: number, recovering: boolean): Promise<number> {
    if (!Array.isArray(pending?.uploads)) throw new SinkError(`checkpoint ${checkpointId} holds no ${this.name} pending commit`);
    return this.started().commit(pending.uploads, recovering);
  }

  async abortLeftovers(runId: string, kept: readonly S3PendingCommit[]): Promise<number> {
    const keys = new Set(kept.flatMap((p) => p.uploads.map((u) => u.key)));
    return this.started().abortLeftovers(runId, keys);
  }

  async close(): Promise<void> {}
}

/** The partitioned writer's options of the S3 sink's data files (the JS and native paths alike). */
export function dataWriterOptions<T>(
  client: S3Client,
  config: S3SinkConfig,
  log: Logger,
  file: { readonly extension: string; readonly contentType: string },
  newBuilder: PartitionedWriterOptions<T>['newBuilder'],
): Omit<PartitionedWriterOptions<T>, 'runId'> {
  return {
    client,
    bucket: config.bucket,
    keyPrefix: config.prefix,
    extension: file.extension,
    contentType: file.contentType,
    newBuilder,
    rolloverSizeBytes: config.rolloverSizeBytes,
    rolloverIntervalMs: config.rolloverIntervalMs,
    inactivityIntervalMs: config.inactivityIntervalMs,
    log,
  };
}

/** What the S3 sink needs. */
export interface S3SinkOptions {
  readonly config: S3SinkConfig;
  readonly schema: EventSchema;
  readonly format: FileFormat;
  readonly jobStartMs: number;
  readonly client?: S3Client;
  readonly region?: string;
}

/** Partitioned Parquet/JSON output on S3, exactly once. */
export class S3Sink extends PartitionedS3Committer<DecodedEvent> {
  readonly name = 's3';
  readonly #o: S3SinkOptions;
  readonly #ownsClient: boolean;
  readonly #renderPartition: (event: DecodedEvent) => string;
  #reject: SinkContext['reject'] | undefined;

  constructor(options: S3SinkOptions) {
    super(options.client ?? createS3Client(options.region));
    this.#o = options;
    this.#ownsClient = options.client === undefined;
    const { config, schema } = options;
    const index = new Map(schema.fields.map((f, i) => [f.name, i]));
    const template = compilePartitionTemplate(config.partitionTemplate, schema.fields.map((f) => f.name));
    const context = { jobStartMs: options.jobStartMs };
    // Memoised: the path of an event is looked up by the values it depends on, not rendered anew.
    const render = template.valuesRenderer((name) => index.get(name) ?? -1, context);
    this.#renderPartition = (event) => render(event.values);
  }

  protected writerOptions(log: Logger): Omit<PartitionedWriterOptions<DecodedEvent>, 'runId'> {
    const { config, format } = this.#o;
    return dataWriterOptions(this.client, config, log, format, () => format.createEncoder());
  }

  override async start(context: SinkContext): Promise<void> {
    this.#reject = context.reject;
    await super.start(context);
  }

  async write(records: readonly SinkRecord[]): Promise<void> {
    // Partitions are rendered here, where a failure can be routed to the dead letters.
    const placed: PlacedItem<DecodedEvent>[] = [];
    for (const record of records) {
      let partition: string;
      try {
        partition = this.#renderPartition(record.event);
      } catch (error) {
        this.#reject?.(record, `partition: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      placed.push({ partition, item: record.event });
    }
    await this.started().append(placed);
  }

  override async close(): Promise<void> {
    if (this.#ownsClient) this.client.destroy();
  }
}
