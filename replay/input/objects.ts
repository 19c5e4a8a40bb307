/**
 * What to read: the input objects of `--input`, in order. A local file; a local directory (its
 * files in name order, not recursing; hidden files, subdirectories and other non-files are
 * skipped, each listed with the reason); or `s3://bucket/prefix` (every object under the prefix,
 * in key order, listed with ListObjectsV2 page by page; zero-byte "folder" markers are not objects).
 * Each object opens as a byte stream.
 */
import { retry } from '../../common/retry.js';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ReplayInputError } from '../errors.js';

/** One object of the input. */
export interface InputObject {
  /** The path or the s3:// URL, for messages. */
  readonly name: string;
  /** Whether it is on the local disk. */
  readonly local: boolean;
  /** Opens it as a byte stream. */
  open(): Promise<Readable>;
}

/** An entry of the input that is not read, and why. */
export interface SkippedInput {
  readonly name: string;
  readonly reason: string;
}

/** The objects to read, and the entries skipped. */
export interface InputListing {
  readonly objects: InputObject[];
  readonly skipped: SkippedInput[];
}

/** A parsed s3:// URL. */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/** Parses `s3://bucket/prefix`; undefined when the input is not an s3:// URL. */
export function parseS3Url(input: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(input);
  if (!match) return undefined;
  return { bucket: match[1] as string, prefix: match[2] as string };
}

/** Lists the local input objects. */
export async function listLocalObjects(path: string): Promise<InputListing> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new ReplayInputError(`cannot read input ${path}`, { cause: error });
  }
  const file = (name: string): InputObject => ({
    name,
    local: true,
    open: () =>
      new Promise((resolve, reject) => {
        const stream = createReadStream(name);
        stream.once('open', () => resolve(stream));
        stream.once('error', (error) => reject(new ReplayInputError(`cannot open input ${name}`, { cause: error })));
      }),
  });
  if (!info.isDirectory()) return { objects: [file(path)], skipped: [] };
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const objects: InputObject[] = [];
  const skipped: SkippedInput[] = [];
  for (const entry of entries) {
    const name = join(path, entry.name);
    if (entry.name.startsWith('.')) skipped.push({ name, reason: 'hidden file' });
    else if (entry.isDirectory()) skipped.push({ name, reason: 'a directory (directories are not read recursively)' });
    else if (entry.isFile()) objects.push(file(name));
    else {
      // A symbolic link to a file is read; anything else (a socket, a dangling link) is not.
      const target = await stat(name).catch(() => undefined);
      if (target?.isFile()) objects.push(file(name));
      else skipped.push({ name, reason: target === undefined ? 'a dangling link' : 'not a regular file' });
    }
  }
  return { objects, skipped };
}

/** Lists the objects under an S3 prefix, in key order (nothing is skipped: `skipped` is empty). */
export async function listS3Objects(client: S3Client, location: S3Location): Promise<InputListing> {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const next = token;
      const page = await retry(() =>
        client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.prefix || undefined, ContinuationToken: next })),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || (object.Key.endsWith('/') && (object.Size ?? 0) === 0)) continue;
        keys.push(object.Key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw new ReplayInputError(`cannot list s3://${location.bucket}/${location.prefix}`, { cause: error, retriable: false });
  }
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const objects = keys.map((key): InputObject => {
    const name = `s3://${location.bucket}/${key}`;
    return {
      name,
      local: false,
      async open() {
        try {
          const response = await retry(() => client.send(new GetObjectCommand({ Bucket: location.bucket, Key: key })));
          const body = response.Body;
          if (body instanceof Readable) return body;
          if (body && typeof (body as { transformToWebStream?: unknown }).transformToWebStream === 'function') {
            return Readable.fromWeb((body as { transformToWebStream(): WebReadableStream }).transformToWebStream());
          }
          throw new Error('GetObject returned no body');
        } catch (error) {
          throw new ReplayInputError(`cannot read ${name}`, { cause: error });
        }
      },
    };
  });
  return { objects, skipped: [] };
}
