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
import { PartitionedWriter, type PartBuilder } from './s3/partitioned-writer.js';
import { abortRegisteredUpload, registrar, uploadsOfPending, type S3PendingCommit } from './s3/s3-sink.js';
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

/** Where rejected records go; takes part in checkpoints like a sink. */
export class DeadLetterOutput {
  readonly name = 'dead-letter';
  readonly #writer: PartitionedWriter<DeadLetter> | undefined;
  readonly #log: Logger;
  readonly #client: S3Client | undefined;
  #buffer: DeadLetter[] = [];

  constructor(options: { log: Logger; s3?: { client: S3Client; config: S3SinkConfig }; registerUpload?: (entry: string) => Promise<void> }) {
    this.#log = options.log;
    this.#client = options.s3?.client;
    if (options.s3) {
      const { client, config } = options.s3;
      this.#writer = new PartitionedWriter<DeadLetter>({
        client,
        bucket: config.bucket,
        keyPrefix: config.errorPrefix,
        extension: '.json',
        contentType: 'application/x-ndjson',
        newBuilder: () => new DeadLetterFile(),
        rolloverSizeBytes: config.rolloverSizeBytes,
        rolloverIntervalMs: config.rolloverIntervalMs,
        inactivityIntervalMs: config.inactivityIntervalMs,
        log: options.log,
        ...(options.registerUpload ? { onUploadCreated: registrar(options.registerUpload) } : {}),
      });
    }
  }

  /** A description of where dead letters go. */
  get destination(): string {
    return this.#writer ? 's3' : 'log';
  }

  /** Takes one rejected record. */
  add(letter: DeadLetter): void {
    if (this.#writer) this.#buffer.push(letter);
    else {
      this.#log.error('rejected record (no S3 output for dead letters: logged in full)', { deadLetter: JSON.parse(deadLetterJson(letter)) });
    }
  }

  /** Hands buffered letters to the file writer. */
  async flush(): Promise<void> {
    if (!this.#writer || this.#buffer.length === 0) return;
    const letters = this.#buffer;
    this.#buffer = [];
    await this.#writer.append(letters.map((letter) => ({ partition: dayPartition(letter.rejectedAtMs), item: letter })));
  }

  async preCommit(): Promise<S3PendingCommit | null> {
    if (!this.#writer) return null;
    await this.flush();
    return { uploads: await this.#writer.preCommit() };
  }

  uploadsOf(pending: unknown): readonly string[] {
    return uploadsOfPending(pending);
  }

  async abortUpload(entry: string): Promise<boolean> {
    return this.#client ? abortRegisteredUpload(this.#client, entry) : false;
  }

  async commit(pending: unknown, checkpointId: number, recovering = false): Promise<void> {
    if (!this.#writer) return;
    const uploads = (pending as S3PendingCommit | null)?.uploads;
    if (!Array.isArray(uploads)) throw new SinkError(`checkpoint ${checkpointId} holds no dead-letter pending commit`);
    await this.#writer.commit(uploads, recovering);
  }
}
