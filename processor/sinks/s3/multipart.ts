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
  ListMultipartUploadsCommand,
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

/**
 * Uploads `body` as the parts of a new multipart upload, and leaves it open. The key names the run
 * (see PartitionedWriter), so an upload left by a run that died is found by listing, without any
 * registration before it starts.
 */
export async function uploadUncommitted(
  client: S3Client,
  target: { bucket: string; key: string; contentType: string; records: number },
  body: Uint8Array,
): Promise<PendingUpload> {
  const { bucket, key } = target;
  let uploadId: string | undefined;
  try {
    const created = await retry(() =>
      client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: target.contentType })),
    );
    uploadId = created.UploadId;
    if (!uploadId) throw new SinkError(`CreateMultipartUpload for s3://${bucket}/${key} returned no upload id`);
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

/** The size of the object at the key, or undefined when there is none. */
async function objectSize(client: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    const head = await retry(() => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    return head.ContentLength ?? 0;
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw error;
  }
}

/**
 * Whether the upload is already complete: an object at its (run-unique) key of exactly the size
 * uploaded. An object of another size is never taken as this upload: that would accept a
 * truncated or foreign object as committed output.
 */
async function alreadyCompleted(client: S3Client, pending: PendingUpload): Promise<boolean> {
  const size = await objectSize(client, pending.bucket, pending.key);
  if (size === undefined) return false;
  if (size !== pending.bytes) {
    throw new SinkError(`s3://${pending.bucket}/${pending.key} exists with ${size} bytes, but upload ${pending.uploadId} holds ${pending.bytes}: refusing to take it as committed`);
  }
  return true;
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
    if (recovering && (await alreadyCompleted(client, pending))) return 'already-completed';
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
    if (error instanceof SinkError) throw error;
    const noSuchUpload = error instanceof NoSuchUpload || (error as { name?: string }).name === 'NoSuchUpload';
    if (noSuchUpload && (await alreadyCompleted(client, pending))) return 'already-completed';
    if (noSuchUpload) {
      throw new SinkError(`upload ${uploadId} of s3://${bucket}/${key} is gone and the object does not exist: its output is lost`, { cause: error });
    }
    throw new SinkError(`could not complete upload ${uploadId} of s3://${bucket}/${key}`, { cause: error, retriable: true });
  }
}

/** An open multipart upload found by listing. */
export interface OpenUpload {
  readonly key: string;
  readonly uploadId: string;
}

/** Lists the open multipart uploads under a prefix (every page). */
export async function listOpenUploads(client: S3Client, bucket: string, prefix: string): Promise<OpenUpload[]> {
  const uploads: OpenUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await retry(() =>
      client.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: prefix,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
        }),
      ),
    );
    for (const u of page.Uploads ?? []) if (u.Key && u.UploadId) uploads.push({ key: u.Key, uploadId: u.UploadId });
    if (!page.IsTruncated) return uploads;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/** Aborts an upload; true when it is gone. */
export async function abortUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<boolean> {
  try {
    await retry(() => client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })));
    return true;
  } catch (error) {
    if (error instanceof NoSuchUpload || (error as { name?: string }).name === 'NoSuchUpload') return true;
    return false;
  }
}
