/**
 * Test helpers around the embedded local services: start them once per test file, give each test
 * unique resource names, and point this process's AWS SDK clients at them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import { startLocalServices, type LocalServices, type LocalServicesOptions } from '../../local/services.js';

/** A unique, valid resource name (stream, bucket, table) for one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`.toLowerCase();
}

/** Starts the local services and sets this process's AWS environment to them; `stop` restores it. */
export async function startServicesForTest(options: LocalServicesOptions = {}): Promise<LocalServices> {
  const services = await startLocalServices(options);
  const saved = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(services.env)) {
    saved.set(key, process.env[key]);
    process.env[key] = value;
  }
  return {
    ...services,
    stop: async () => {
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await services.stop();
    },
  };
}

/** Lists every key under a prefix. */
export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

/** Reads one object's bytes. */
export async function getObject(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls an async condition every 500 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Downloads every key under a prefix into a fresh temporary directory, keeping the key paths. */
export async function downloadPrefix(s3: S3Client, bucket: string, prefix: string): Promise<{ dir: string; keys: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'etl-out-'));
  const keys = await listKeys(s3, bucket, prefix);
  for (const key of keys) {
    const path = join(dir, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await getObject(s3, bucket, key));
  }
  return { dir, keys };
}

/** Creates a stream with `shards` shards, a bucket and a checkpoint table, all uniquely named. */
export async function createPipelineResources(services: LocalServices, shards: number): Promise<{ stream: string; bucket: string; table: string }> {
  const names = { stream: uniqueName('trips'), bucket: uniqueName('out'), table: uniqueName('ckpt') };
  await services.createStream(names.stream, shards);
  await services.createBucket(names.bucket);
  await services.createTable(names.table);
  return names;
}
