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
import { BaseSink, type SinkRecord } from '../../lifecycle.js';
import { SinkError } from '../errors.js';
import { abortUpload, parseUploadEntry, uploadEntry, type PendingUpload } from './multipart.js';
import { PartitionedWriter, type PlacedItem } from './partitioned-writer.js';

/** What the S3 sink's pre-commit hands to the checkpoint. */
export interface S3PendingCommit {
  readonly uploads: readonly PendingUpload[];
}

/** Called for an event the sink cannot place (its partition cannot be rendered); it goes to the dead letters. */
export type RejectRecord = (record: SinkRecord, reason: string) => void;

/** What the S3 sink needs. */
export interface S3SinkOptions {
  readonly config: S3SinkConfig;
  readonly schema: EventSchema;
  readonly format: FileFormat;
  readonly log: Logger;
  readonly jobStartMs: number;
  readonly reject: RejectRecord;
  /** Records an upload (its registry entry) before its first byte is sent. */
  readonly registerUpload?: (entry: string) => Promise<void>;
  readonly client?: S3Client;
  readonly region?: string;
}

/** Creates the S3 client the sinks use (path-style when AWS_S3_FORCE_PATH_STYLE is set). */
export function createS3Client(region?: string): S3Client {
  return new S3Client({ ...baseClientConfig(region ? { region } : {}), forcePathStyle: s3ForcePathStyle() });
}

/** Partitioned Parquet/JSON output on S3, exactly once. */
export class S3Sink extends BaseSink {
  readonly name = 's3';
  readonly #writer: PartitionedWriter<DecodedEvent>;
  readonly #client: S3Client;
  readonly #ownsClient: boolean;
  readonly #reject: RejectRecord;
  readonly #renderPartition: (event: DecodedEvent) => string;

  constructor(options: S3SinkOptions) {
    super();
    const { config, schema, format } = options;
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? createS3Client(options.region);
    this.#reject = options.reject;
    const index = new Map(schema.fields.map((f, i) => [f.name, i]));
    const template = compilePartitionTemplate(config.partitionTemplate, schema.fields.map((f) => f.name));
    const context = { jobStartMs: options.jobStartMs };
    this.#renderPartition = (event) => template.render((name) => event.values[index.get(name) ?? -1], context);
    this.#writer = new PartitionedWriter<DecodedEvent>({
      client: this.#client,
      bucket: config.bucket,
      keyPrefix: config.prefix,
      extension: format.extension,
      contentType: format.contentType,
      newBuilder: () => format.createEncoder(),
      rolloverSizeBytes: config.rolloverSizeBytes,
      rolloverIntervalMs: config.rolloverIntervalMs,
      inactivityIntervalMs: config.inactivityIntervalMs,
      log: options.log,
      ...(options.registerUpload ? { onUploadCreated: registrar(options.registerUpload) } : {}),
    });
  }

  async write(records: readonly SinkRecord[]): Promise<void> {
    // Partitions are rendered here, where a failure can be routed to the dead letters.
    const placed: PlacedItem<DecodedEvent>[] = [];
    for (const record of records) {
      let partition: string;
      try {
        partition = this.#renderPartition(record.event);
      } catch (error) {
        this.#reject(record, `partition: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      placed.push({ partition, item: record.event });
    }
    await this.#writer.append(placed);
  }

  override async preCommit(_checkpointId: number): Promise<S3PendingCommit> {
    return { uploads: await this.#writer.preCommit() };
  }

  override async commit(pending: unknown, checkpointId: number, recovering = false): Promise<void> {
    const uploads = (pending as S3PendingCommit | null)?.uploads;
    if (!Array.isArray(uploads)) throw new SinkError(`checkpoint ${checkpointId} holds no S3 pending commit`);
    this.eventsOut += await this.#writer.commit(uploads, recovering);
  }

  uploadsOf(pending: unknown): readonly string[] {
    return uploadsOfPending(pending);
  }

  abortUpload(entry: string): Promise<boolean> {
    return abortRegisteredUpload(this.#client, entry);
  }

  override async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }
}

/** Adapts a registry callback to the writer's upload hook. */
export function registrar(register: (entry: string) => Promise<void>): (bucket: string, key: string, uploadId: string) => Promise<void> {
  return (bucket, key, uploadId) => register(uploadEntry({ bucket, key, uploadId }));
}

/** The registry entries of an S3 pending commit. */
export function uploadsOfPending(pending: unknown): readonly string[] {
  const uploads = (pending as S3PendingCommit | null)?.uploads;
  return Array.isArray(uploads) ? uploads.map(uploadEntry) : [];
}

/** Aborts the upload a registry entry names. */
export async function abortRegisteredUpload(client: S3Client, entry: string): Promise<boolean> {
  const upload = parseUploadEntry(entry);
  return upload ? abortUpload(client, upload.bucket, upload.key, upload.uploadId) : false;
}
