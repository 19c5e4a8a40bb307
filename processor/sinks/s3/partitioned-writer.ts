/**
 * Part files per partition, rolled on size, on age, on inactivity and at every checkpoint. A rolled
 * file is uploaded at once as an uncommitted multipart upload (invisible); `preCommit` rolls every
 * open file and returns all uploads since the last checkpoint, and `commit` completes them.
 * Generic over what a file holds, so events and dead letters share it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../../../common/log.js';
import { describeError } from '../../../common/errors.js';
import { abortUpload, completeUpload, listOpenUploads, uploadUncommitted, type PendingUpload } from './multipart.js';

/** Builds one file. */
export interface PartBuilder<T> {
  append(item: T): void;
  readonly count: number;
  readonly estimatedBytes: number;
  finish(): Promise<Uint8Array>;
}

/** An item with its partition path ('' or ending in '/'), rendered by the caller. */
export interface PlacedItem<T> {
  readonly partition: string;
  readonly item: T;
}

/** What a partitioned writer needs. */
export interface PartitionedWriterOptions<T> {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix, '' or ending in '/'. */
  readonly keyPrefix: string;
  readonly extension: string;
  readonly contentType: string;
  /** A builder for a new file of `partition`. */
  readonly newBuilder: (partition: string) => PartBuilder<T>;
  readonly rolloverSizeBytes: number;
  readonly rolloverIntervalMs: number;
  readonly inactivityIntervalMs: number;
  readonly log: Logger;
  /** Uploads run at most this many at once. @default 8 */
  readonly uploadConcurrency?: number;
  /** The processor run: every key holds `part-<runId>-`, so a dead run's open uploads can be listed. */
  readonly runId: string;
}

/** The part of a key that names the run that wrote it. */
export function runMarker(runId: string): string {
  return `part-${runId}-`;
}

interface OpenFile<T> {
  readonly partition: string;
  readonly builder: PartBuilder<T>;
  readonly openedAt: number;
  lastAppendAt: number;
}

/** Runs `tasks` with at most `limit` at once, keeping their order in the result. */
async function mapLimit<A, B>(items: readonly A[], limit: number, fn: (item: A) => Promise<B>): Promise<B[]> {
  const results: B[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Writes items into rolling part files, one open file per partition. */
export class PartitionedWriter<T> {
  readonly #o: PartitionedWriterOptions<T>;
  readonly #open = new Map<string, OpenFile<T>>();
  #uploaded: PendingUpload[] = [];
  #sequence = 0;
  #lastDueCheck = 0;

  constructor(options: PartitionedWriterOptions<T>) {
    this.#o = options;
  }

  /** Adds items; rolls (and uploads) any file that reaches the size limit, or is due by age. */
  async append(items: readonly PlacedItem<T>[], now = Date.now()): Promise<void> {
    const full: OpenFile<T>[] = [];
    for (const { partition, item } of items) {
      let file = this.#open.get(partition);
      if (!file) {
        file = { partition, builder: this.#o.newBuilder(partition), openedAt: now, lastAppendAt: now };
        this.#open.set(partition, file);
      }
      file.builder.append(item);
      file.lastAppendAt = now;
      if (file.builder.estimatedBytes >= this.#o.rolloverSizeBytes) {
        this.#open.delete(partition);
        full.push(file);
      }
    }
    if (full.length > 0) await this.#roll(full);
    if (now - this.#lastDueCheck >= 1000) {
      this.#lastDueCheck = now;
      await this.rollDue(now);
    }
  }

  /** Rolls files open longer than the rollover interval or idle longer than the inactivity interval. */
  async rollDue(now = Date.now()): Promise<void> {
    const due: OpenFile<T>[] = [];
    for (const [partition, file] of this.#open) {
      if (now - file.openedAt >= this.#o.rolloverIntervalMs || now - file.lastAppendAt >= this.#o.inactivityIntervalMs) {
        this.#open.delete(partition);
        due.push(file);
      }
    }
    if (due.length > 0) await this.#roll(due);
  }

  /** Rolls every open file and returns every upload made since the last call. */
  async preCommit(): Promise<PendingUpload[]> {
    const all = [...this.#open.values()];
    this.#open.clear();
    await this.#roll(all);
    const uploaded = this.#uploaded;
    this.#uploaded = [];
    return uploaded;
  }

  /**
   * Completes uploads (idempotently; `recovering`: some may be complete already). Returns the items
   * made visible now (not those of uploads completed before).
   */
  async commit(pending: readonly PendingUpload[], recovering = false): Promise<number> {
    const outcomes = await mapLimit(pending, this.#o.uploadConcurrency ?? 8, (p) => completeUpload(this.#o.client, p, recovering));
    const again = outcomes.filter((o) => o === 'already-completed').length;
    if (again > 0) this.#o.log.info('uploads were completed before (recovery)', { count: again });
    return pending.reduce((sum, p, i) => sum + (outcomes[i] === 'completed' ? p.records : 0), 0);
  }

  /**
   * Aborts the open uploads under this writer's prefix that the run `runId` left and that no
   * persisted checkpoint holds (`keptKeys`). Returns how many were aborted; a server that cannot
   * list uploads leaves them to the bucket's lifecycle rule (logged).
   */
  async abortLeftovers(runId: string, keptKeys: ReadonlySet<string>): Promise<number> {
    const marker = runMarker(runId);
    let open;
    try {
      open = await listOpenUploads(this.#o.client, this.#o.bucket, this.#o.keyPrefix);
    } catch (error) {
      this.#o.log.warn('cannot list open uploads; the bucket lifecycle rule removes what a dead run left', { run: runId, error: describeError(error) });
      return 0;
    }
    const leftovers = open.filter((u) => u.key.includes(marker) && !keptKeys.has(u.key));
    const aborted = await mapLimit(leftovers, this.#o.uploadConcurrency ?? 8, (u) => abortUpload(this.#o.client, this.#o.bucket, u.key, u.uploadId));
    const failed = aborted.filter((ok) => !ok).length;
    if (failed > 0) this.#o.log.warn('some uploads of a dead run could not be aborted; the bucket lifecycle rule removes them', { run: runId, failed });
    return aborted.length - failed;
  }

  async #roll(files: readonly OpenFile<T>[]): Promise<void> {
    const nonEmpty = files.filter((f) => f.builder.count > 0);
    const uploads = await mapLimit(nonEmpty, this.#o.uploadConcurrency ?? 8, async (file) => {
      this.#sequence += 1;
      const key = `${this.#o.keyPrefix}${file.partition}${runMarker(this.#o.runId)}${String(this.#sequence).padStart(6, '0')}${this.#o.extension}`;
      const records = file.builder.count;
      const body = await file.builder.finish();
      return uploadUncommitted(this.#o.client, { bucket: this.#o.bucket, key, contentType: this.#o.contentType, records }, body);
    });
    this.#uploaded.push(...uploads);
  }
}
