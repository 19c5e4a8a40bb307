/**
 * s3rver's filesystem store with a write path that reports its failures. s3rver 3.7.1 writes an
 * object or a part with a file stream that has no error listener and answers before the write is
 * done: a full disk (ENOSPC) answered the client 200 for a truncated object and then crashed the
 * whole process (and with it every other local service running in it). Here every write goes to
 * a temporary file next to its target, is awaited to the end, and only then renamed into place
 * (object last, after its `.md5` and metadata); a failed write removes its temporary files and
 * throws, which s3rver answers with 500 InternalError. Reads and everything else are s3rver's own.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';
import S3Object from 's3rver/lib/models/object.js';

/** What s3rver's controllers expect back from a write. */
interface Written {
  readonly size: number;
  readonly md5: string;
}

/** A file being written: its temporary path, what was written, and how to put it in place. */
interface Staged extends Written {
  readonly temp: string;
}

function tempPath(target: string): string {
  return `${target}.writing-${randomUUID()}`;
}

/**
 * Writes `content` (a buffer, or a request body that must not be destroyed) to a temporary file
 * next to `target`, hashing it on the way. Resolves once the file is completely written; on any
 * failure the temporary file is removed, the rest of a request body is drained (so that the
 * client can still be answered) and the error is thrown.
 */
async function stage(target: string, content: Buffer | Readable): Promise<Staged> {
  await mkdir(dirname(target), { recursive: true });
  const temp = tempPath(target);
  const hash = createHash('md5');
  let size = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
  let ended = false;
  const onEnd = (): void => {
    ended = true;
  };
  const onError = (error: Error): void => {
    hasher.destroy(error);
  };
  const onClose = (): void => {
    if (!ended) hasher.destroy(new Error('the request body ended before it was complete'));
  };
  source.once('end', onEnd);
  source.once('error', onError);
  source.once('close', onClose);
  source.pipe(hasher);
  try {
    await pipeline(hasher, createWriteStream(temp));
    return { temp, size, md5: hash.digest('hex') };
  } catch (error) {
    source.unpipe(hasher);
    if (!Buffer.isBuffer(content)) content.resume();
    await rm(temp, { force: true });
    throw error;
  } finally {
    source.off('end', onEnd);
    source.off('error', onError);
    source.off('close', onClose);
  }
}

/** Writes a small file whole under a temporary name; returns that name. */
async function stageSmall(target: string, data: string): Promise<string> {
  const temp = tempPath(target);
  try {
    await writeFile(temp, data);
    return temp;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The metadata s3rver keeps for an object, as its own store writes it. */
function storedMetadata(metadata: Record<string, string>): string {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (S3Object.ALLOWED_METADATA.includes(key) || key.startsWith('x-amz-meta-')) kept[key] = value;
  }
  return JSON.stringify(kept, null, 2);
}

/** s3rver's store with the object and part writes replaced (see the module comment). */
export class CheckedFilesystemStore extends FilesystemStore {
  override async putObject(object: S3Object): Promise<Written> {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    const staged: string[] = [];
    try {
      const written = await stage(objectPath, object.content);
      staged.push(written.temp);
      const md5Temp = await stageSmall(`${objectPath}.md5`, written.md5);
      staged.push(md5Temp);
      const metadataPath = this.getResourcePath(object.bucket, object.key, 'metadata.json');
      const metadataTemp = await stageSmall(metadataPath, storedMetadata(object.metadata));
      staged.push(metadataTemp);
      await rename(metadataTemp, metadataPath);
      await rename(md5Temp, `${objectPath}.md5`);
      await rename(written.temp, objectPath);
      return { size: written.size, md5: written.md5 };
    } catch (error) {
      await Promise.all(staged.map((file) => rm(file, { force: true })));
      throw error;
    }
  }

  override async putPart(bucket: string, uploadId: string, partNumber: number | string, content: Readable): Promise<Written> {
    const partPath = join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const written = await stage(partPath, content);
    let md5Temp: string | undefined;
    try {
      md5Temp = await stageSmall(`${partPath}.md5`, written.md5);
      await rename(md5Temp, `${partPath}.md5`);
      await rename(written.temp, partPath);
      return { size: written.size, md5: written.md5 };
    } catch (error) {
      await Promise.all([rm(written.temp, { force: true }), md5Temp ? rm(md5Temp, { force: true }) : undefined]);
      throw error;
    }
  }
}
