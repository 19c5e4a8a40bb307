/**
 * The S3 side of the two-phase commit: a finished part file is uploaded as the parts of a
 * multipart upload that is NOT completed, so the object does not exist yet (pre-commit); the upload
 * is completed when the checkpoint that holds it commits. Completing is idempotent: an upload
 * already completed (NoSuchUpload, and the object is there) counts as done. Keys are unique per
 * part file, so an existing object at the key can only be this upload's.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  NoSuchUpload,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { retry } from '../../../common/retry.js';
import { SinkError } from '../errors.js';

/** Size of every part but the last (S3 wants at least 5 MiB but for the last). */
export const PART_SIZE_BYTES = 8 * 1024 * 1024;

/** A multipart upload whose parts are all sent, waiting to be completed. JSON-serialisable. */
export interface PendingUpload {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly parts: readonly { readonly PartNumber: number; readonly ETag: string }[];
  /** Events in the file. */
  readonly records: number;
  /** File size in bytes. */
  readonly bytes: number;
}

/** Uploads `body` as the parts of a new multipart upload, and leaves it open. */
export async function uploadUncommitted(
  client: S3Client,
  target: { bucket: string; key: string; contentType: string; records: number },
  body: Uint8Array,
  onUploadCreated?: (uploadId: string) => Promise<void> | void,
): Promise<PendingUpload> {
  const { bucket, key } = target;
  let uploadId: string | undefined;
  try {
    const created = await retry(() =>
      client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: target.contentType })),
    );
    uploadId = created.UploadId;
    if (!uploadId) throw new SinkError(`CreateMultipartUpload for s3://${bucket}/${key} returned no upload id`);
    await onUploadCreated?.(uploadId);
    const parts: { PartNumber: number; ETag: string }[] = [];
    const count = Math.max(1, Math.ceil(body.byteLength / PART_SIZE_BYTES));
    for (let i = 0; i < count; i += 1) {
      const chunk = body.subarray(i * PART_SIZE_BYTES, Math.min(body.byteLength, (i + 1) * PART_SIZE_BYTES));
      const id = uploadId;
      const out = await retry(() =>
        client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: id, PartNumber: i + 1, Body: chunk, ContentLength: chunk.byteLength })),
      );
      if (!out.ETag) throw new SinkError(`UploadPart ${i + 1} of s3://${bucket}/${key} returned no ETag`);
      parts.push({ PartNumber: i + 1, ETag: out.ETag });
    }
    return { bucket, key, uploadId, parts, records: target.records, bytes: body.byteLength };
  } catch (error) {
    if (error instanceof SinkError) throw error;
    throw new SinkError(`could not upload the parts of s3://${bucket}/${key}${uploadId ? ` (upload ${uploadId})` : ''}`, {
      cause: error,
      retriable: true,
    });
  }
}

async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

/**
 * Completes a pending upload. Completing twice is success: when `recovering` (the commit of a
 * checkpoint persisted before a restart), an object already at the key means the upload was
 * completed before the crash; otherwise a NoSuchUpload answer is checked the same way. (S3
 * answers a repeated completion with success or NoSuchUpload; some S3 servers with an error.)
 */
export async function completeUpload(client: S3Client, pending: PendingUpload, recovering = false): Promise<'completed' | 'already-completed'> {
  const { bucket, key, uploadId } = pending;
  try {
    if (recovering && (await objectExists(client, bucket, key))) return 'already-completed';
    await retry(() =>
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: pending.parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag })) },
        }),
      ),
    );
    return 'completed';
  } catch (error) {
    const noSuchUpload = error instanceof NoSuchUpload || (error as { name?: string }).name === 'NoSuchUpload';
    if (noSuchUpload && (await objectExists(client, bucket, key).catch(() => false))) return 'already-completed';
    if (noSuchUpload) {
      throw new SinkError(`upload ${uploadId} of s3://${bucket}/${key} is gone and the object does not exist: its output is lost`, { cause: error });
    }
    throw new SinkError(`could not complete upload ${uploadId} of s3://${bucket}/${key}`, { cause: error, retriable: true });
  }
}

/** The upload registry's entry for an upload (see CheckpointStore.registerUploads). */
export function uploadEntry(upload: { readonly bucket: string; readonly key: string; readonly uploadId: string }): string {
  return JSON.stringify([upload.bucket, upload.key, upload.uploadId]);
}

/** Reads an entry made by {@link uploadEntry}; undefined for anything else. */
export function parseUploadEntry(entry: string): { bucket: string; key: string; uploadId: string } | undefined {
  try {
    const parsed = JSON.parse(entry) as unknown;
    if (Array.isArray(parsed) && parsed.length === 3 && parsed.every((p) => typeof p === 'string')) {
      const [bucket, key, uploadId] = parsed as [string, string, string];
      return { bucket, key, uploadId };
    }
  } catch {
    // not an entry of ours
  }
  return undefined;
}

/** Aborts an upload (best effort: the bucket's lifecycle rule removes what this misses). */
export async function abortUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<boolean> {
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    return true;
  } catch {
    return false;
  }
}
