/**
 * Dead letters: records that could not be decoded, validated or placed. They never stop the
 * pipeline and are never dropped: with an S3 output they are written, exactly once like the data,
 * as JSON lines under the error prefix (partitioned by the day they were rejected), each with the
 * raw bytes (base64), the reason and the source position; without one, each is logged in full.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../../common/log.js';
import type { SourcePosition } from '../lifecycle.js';
import type { S3SinkConfig } from '../config/types.js';
import type { Sink, SinkContext } from '../lifecycle.js';
import type { PartitionedWriterOptions, PartBuilder } from './s3/partitioned-writer.js';
import { PartitionedS3Committer, type S3PendingCommit } from './s3/s3-sink.js';
import { SinkError } from './errors.js';

/** One rejected record. */
export interface DeadLetter {
  readonly reason: string;
  readonly origin: SourcePosition;
  readonly raw: Uint8Array;
  /** When it was rejected (epoch ms). */
  readonly rejectedAtMs: number;
}

/** The JSON form of a dead letter, one per line. */
export function deadLetterJson(letter: DeadLetter): string {
  return JSON.stringify({
    reason: letter.reason,
    source: letter.origin,
    rejected_at: new Date(letter.rejectedAtMs).toISOString(),
    raw_base64: Buffer.from(letter.raw.buffer, letter.raw.byteOffset, letter.raw.byteLength).toString('base64'),
  });
}

class DeadLetterFile implements PartBuilder<DeadLetter> {
  #lines: string[] = [];
  #bytes = 0;
  append(item: DeadLetter): void {
    const line = `${deadLetterJson(item)}\n`;
    this.#lines.push(line);
    this.#bytes += line.length;
  }
  get count(): number {
    return this.#lines.length;
  }
  get estimatedBytes(): number {
    return this.#bytes;
  }
  async finish(): Promise<Uint8Array> {
    const body = Buffer.from(this.#lines.join(''), 'utf8');
    this.#lines = [];
    return body;
  }
}

function dayPartition(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `year=${d.getUTCFullYear()}/month=${pad(d.getUTCMonth() + 1)}/day=${pad(d.getUTCDate())}/`;
}

/** The S3 half of the dead letters: JSON-lines files under the error prefix, one partition a day. */
class DeadLetterFiles extends PartitionedS3Committer<DeadLetter> {
  readonly name = 'dead-letter';
  readonly #config: S3SinkConfig;

  constructor(client: S3Client, config: S3SinkConfig) {
    super(client);
    this.#config = config;
  }

  protected writerOptions(log: Logger): Omit<PartitionedWriterOptions<DeadLetter>, 'runId'> {
    const config = this.#config;
    return {
      client: this.client,
      bucket: config.bucket,
      keyPrefix: config.errorPrefix,
      extension: '.json',
      contentType: 'application/x-ndjson',
      newBuilder: () => new DeadLetterFile(),
      rolloverSizeBytes: config.rolloverSizeBytes,
      rolloverIntervalMs: config.rolloverIntervalMs,
      inactivityIntervalMs: config.inactivityIntervalMs,
      log,
    };
  }

  async write(): Promise<void> {
    throw new SinkError('dead letters are added with DeadLetterOutput.add');
  }

  async append(letters: readonly DeadLetter[]): Promise<void> {
    await this.started().append(letters.map((letter) => ({ partition: dayPartition(letter.rejectedAtMs), item: letter })));
  }
}

/**
 * Where rejected records go. With an S3 output it takes part in checkpoints like any sink (exactly
 * once); without one, each letter is logged in full at once and nothing is pending.
 */
export class DeadLetterOutput implements Sink<S3PendingCommit> {
  readonly name = 'dead-letter';
  readonly eventsOut = 0;
  readonly #files: DeadLetterFiles | undefined;
  readonly #log: Logger;
  #buffer: DeadLetter[] = [];

  constructor(options: { log: Logger; s3?: { client: S3Client; config: S3SinkConfig } }) {
    this.#log = options.log;
    if (options.s3) this.#files = new DeadLetterFiles(options.s3.client, options.s3.config);
  }

  /** A description of where dead letters go. */
  get destination(): string {
    return this.#files ? 's3' : 'log';
  }

  async start(context: SinkContext): Promise<void> {
    await this.#files?.start(context);
  }

  async write(): Promise<void> {
    throw new SinkError('dead letters are added with add()');
  }

  /** Takes one rejected record. */
  add(letter: DeadLetter): void {
    if (this.#files) this.#buffer.push(letter);
    else {
      this.#log.error('rejected record (no S3 output for dead letters: logged in full)', { deadLetter: JSON.parse(deadLetterJson(letter)) });
    }
  }

  /** Hands buffered letters to the file writer. */
  async flush(): Promise<void> {
    if (!this.#files || this.#buffer.length === 0) return;
    const letters = this.#buffer;
    this.#buffer = [];
    await this.#files.append(letters);
  }

  async preCommit(checkpointId: number): Promise<S3PendingCommit | undefined> {
    if (!this.#files) return undefined;
    await this.flush();
    return this.#files.preCommit(checkpointId);
  }

  async commit(pending: S3PendingCommit, checkpointId: number, recovering: boolean): Promise<number> {
    if (!this.#files) throw new SinkError(`checkpoint ${checkpointId} holds dead letters, but this processor has no S3 output for them`);
    return this.#files.commit(pending, checkpointId, recovering);
  }

  async abortLeftovers(runId: string, kept: readonly S3PendingCommit[]): Promise<number> {
    return this.#files ? this.#files.abortLeftovers(runId, kept) : 0;
  }

  async close(): Promise<void> {}
}
