/**
 * One local service failing does not take the others down.
 * - A full disk: etl-local's S3 directory is a 64 KiB tmpfs, so a 1 MiB write fails with a real
 *   ENOSPC. The S3 client gets an error for that write (never a success for a truncated object),
 *   no part of the object is visible afterwards, etl-local logs which service failed and why, and
 *   Kinesis, DynamoDB and S3 itself (a write that fits) still answer. Needs root and tmpfs (a
 *   mount); without them the test says why it skips.
 * - A died process: the moto server (DynamoDB) is killed; etl-local logs that it died and keeps
 *   Kinesis and S3 up.
 * - A client that goes away in the middle of a Kinesis or S3 request (kinesalite used to throw on
 *   that, ending etl-local).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LAUNCHER = join(ROOT, 'scripts/launch/etl-local.mjs');
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** Mounts a 64 KiB tmpfs on a new directory; returns the directory, or why it could not. */
async function tinyFilesystem(): Promise<{ dir: string } | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: `mounting a tmpfs needs root; running as uid ${process.getuid?.()}` };
  const dir = await mkdtemp(join(tmpdir(), 'etl-enospc-'));
  try {
    await promisify(execFile)('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    return { dir };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    return { skip: `could not mount a 64 KiB tmpfs (no mount permission in this container?): ${(error as Error).message.trim()}` };
  }
}

/** etl-local as a child process, its first stdout line parsed, its stderr collected, clients for its services. */
interface EtlLocal {
  readonly child: ChildProcess;
  readonly info: { endpoints: { kinesis: string; s3: string; dynamodb: string }; table: string };
  readonly s3: S3Client;
  readonly kinesis: KinesisClient;
  readonly dynamo: DynamoDBClient;
  stderr(): string;
  /** Error lines (JSON) it logged. */
  errors(): Record<string, unknown>[];
  running(): boolean;
  readonly exited: Promise<number | null>;
  /** Destroys the clients; kills etl-local if it still runs. */
  close(): Promise<void>;
}

async function startEtlLocal(args: readonly string[]): Promise<EtlLocal> {
  const child = spawn(process.execPath, [LAUNCHER, ...args], { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let running = true;
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      running = false;
      r(code);
    }),
  );
  const line = await Promise.race([new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r)), exited.then(() => '')]);
  assert.notEqual(line, '', `etl-local exited before it was up: ${stderr}`);
  const info = JSON.parse(line) as EtlLocal['info'];
  const common = { region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, maxAttempts: 1 };
  const s3 = new S3Client({ ...common, endpoint: info.endpoints.s3, forcePathStyle: true });
  const kinesis = new KinesisClient({ ...common, endpoint: info.endpoints.kinesis, requestHandler: new NodeHttpHandler() });
  const dynamo = new DynamoDBClient({ ...common, endpoint: info.endpoints.dynamodb });
  return {
    child,
    info,
    s3,
    kinesis,
    dynamo,
    stderr: () => stderr,
    errors: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.level === 'error'),
    running: () => running,
    exited,
    async close() {
      for (const client of [s3, kinesis, dynamo]) client.destroy();
      if (running) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Kinesis still takes a record and gives it back (the stream has one shard). */
async function kinesisAnswers(kinesis: KinesisClient, data: string): Promise<void> {
  const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'trips' }));
  assert.equal(summary.StreamDescriptionSummary?.OpenShardCount, 1);
  await kinesis.send(new PutRecordCommand({ StreamName: 'trips', PartitionKey: 'k', Data: Buffer.from(data) }));
  const iterator = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'trips', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
  const records = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }));
  assert.deepEqual(records.Records?.map((r) => Buffer.from(r.Data!).toString()), [data]);
}

/** S3 still takes a small write and gives it back. */
async function s3Answers(s3: S3Client): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: 'out', Key: 'small.txt', Body: 'still here' }));
  assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'out', Key: 'small.txt' }))).Body!.transformToString(), 'still here');
}

/** The HTTP status an SDK call failed with (undefined for a network-level failure). */
function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

describe('one local service failing', () => {
  test('an S3 write that hits ENOSPC is answered with an error and logged naming the service; Kinesis, DynamoDB and S3 keep answering', async (t) => {
    const fs = await tinyFilesystem();
    if ('skip' in fs) {
      t.skip(fs.skip);
      return;
    }
    let local: EtlLocal | undefined;
    try {
      // Given etl-local with its S3 directory on a 64 KiB filesystem
      local = await startEtlLocal(['--stream', 'trips', '--bucket', 'out', '--s3-directory', fs.dir]);
      const { s3, kinesis, dynamo } = local;

      // When an object and a multipart part of 1 MiB each are written to it
      const big = Buffer.alloc(1024 * 1024, 7);
      const put = await s3.send(new PutObjectCommand({ Bucket: 'out', Key: 'big.bin', Body: big })).then(
        () => 'accepted',
        (error: unknown) => error,
      );
      // Then both writes fail with S3's InternalError (500)
      assert.notEqual(put, 'accepted', 'a PutObject that hit ENOSPC must not succeed');
      assert.equal((put as Error).name, 'InternalError', `PutObject: ${String(put)}`);
      assert.equal(statusOf(put), 500);
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'out', Key: 'big-multipart.bin' }));
      const part = await s3.send(new UploadPartCommand({ Bucket: 'out', Key: 'big-multipart.bin', UploadId: upload.UploadId, PartNumber: 1, Body: big })).then(
        () => 'accepted',
        (error: unknown) => error,
      );
      assert.notEqual(part, 'accepted', 'an UploadPart that hit ENOSPC must not succeed');
      assert.equal(statusOf(part), 500, `UploadPart: ${String(part)}`);

      // And no part of the object is visible
      await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'out', Key: 'big.bin' })), (error: unknown) => statusOf(error) === 404);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'out' }));
      assert.deepEqual(listed.Contents ?? [], [], 'nothing of the failed write is listed');

      // And etl-local is still running and logged which service failed, with the error, once per failed write
      assert.ok(local.running(), `etl-local is still running: ${local.stderr()}`);
      const failures = local.errors().filter((l) => l.service === 's3');
      assert.deepEqual(
        failures.map((l) => [l.msg, l.method, l.path, l.code]),
        [
          ['local service failed a request', 'PUT', '/out/big.bin', 'ENOSPC'],
          ['local service failed a request', 'PUT', '/out/big-multipart.bin', 'ENOSPC'],
        ],
        local.stderr(),
      );
      for (const failure of failures) assert.match(String(failure.error), /ENOSPC: no space left on device/);

      // And S3 still takes a write that fits, Kinesis and DynamoDB still answer
      await s3Answers(s3);
      await kinesisAnswers(kinesis, 'after the failure');
      const key = { application: { S: 'enospc-test' }, leaseKey: { S: 'lease/x' } };
      await dynamo.send(new PutItemCommand({ TableName: local.info.table, Item: { ...key, checkpoint: { S: '42' } } }));
      assert.equal((await dynamo.send(new GetItemCommand({ TableName: local.info.table, Key: key }))).Item?.checkpoint?.S, '42');

      // And it still stops cleanly
      local.child.kill('SIGTERM');
      assert.equal(await local.exited, 0, local.stderr());
    } finally {
      await local?.close();
      await promisify(execFile)('umount', [fs.dir]).catch(() => undefined);
      await rm(fs.dir, { recursive: true, force: true });
    }
  });

  test('the DynamoDB server (moto, a child process) killed: etl-local says it died, Kinesis and S3 keep answering', async () => {
    // Given etl-local up
    const local = await startEtlLocal(['--stream', 'trips', '--bucket', 'out']);
    try {
      // When its moto server (its only child process) is killed
      const { stdout } = await promisify(execFile)('pgrep', ['-P', String(local.child.pid)]);
      const children = stdout.trim().split('\n').filter(Boolean).map(Number);
      assert.equal(children.length, 1, `one child process (moto): ${stdout}`);
      process.kill(children[0]!, 'SIGKILL');

      // Then etl-local logs that DynamoDB died, and keeps running
      for (let i = 0; i < 300 && !local.errors().some((l) => l.service === 'dynamodb'); i += 1) await new Promise((r) => setTimeout(r, 100));
      const died = local.errors().find((l) => l.service === 'dynamodb');
      assert.ok(died, `etl-local reported the died service: ${local.stderr()}`);
      assert.equal(died.msg, 'local service died; the other services keep running');
      assert.equal(died.signal, 'SIGKILL');
      assert.ok(local.running(), `etl-local is still running: ${local.stderr()}`);

      // And a DynamoDB client gets an error, while Kinesis and S3 answer
      await assert.rejects(local.dynamo.send(new GetItemCommand({ TableName: local.info.table, Key: { application: { S: 'a' }, leaseKey: { S: 'b' } } })));
      await kinesisAnswers(local.kinesis, 'after moto died');
      await s3Answers(local.s3);

      // And it still stops cleanly
      local.child.kill('SIGTERM');
      assert.equal(await local.exited, 0, local.stderr());
    } finally {
      await local.close();
    }
  });

  test('a client that goes away in the middle of a Kinesis or an S3 request: logged, and every service keeps answering', async () => {
    // Given etl-local up
    const local = await startEtlLocal(['--stream', 'trips', '--bucket', 'out']);
    try {
      // When a client sends the start of a Kinesis request and of an S3 upload, then closes its connection
      for (const [endpoint, head] of [
        [local.info.endpoints.kinesis, 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.PutRecord\r\nContent-Length: 1000\r\n\r\n{"StreamName":'],
        [local.info.endpoints.s3, 'PUT /out/partial.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n0123456789'],
      ] as const) {
        const url = new URL(endpoint);
        await new Promise<void>((resolve, reject) => {
          const socket = connect(Number(url.port), url.hostname, () =>
            socket.write(head, () =>
              // (a moment for the server to take the request's head, then the client is gone)
              setTimeout(() => {
                socket.destroy();
                resolve();
              }, 200),
            ),
          );
          socket.on('error', reject);
        });
      }

      // Then etl-local says so for each service and keeps running
      const dropped = (): unknown[] => local.stderr().split('\n').filter((l) => l.includes('a client went away before its request was complete'));
      for (let i = 0; i < 300 && dropped().length < 2; i += 1) await new Promise((r) => setTimeout(r, 100));
      assert.equal(dropped().length, 2, local.stderr());
      assert.ok(local.running(), `etl-local is still running: ${local.stderr()}`);

      // And Kinesis, S3 and DynamoDB answer; nothing of the partial upload is visible
      await kinesisAnswers(local.kinesis, 'after a client went away');
      await s3Answers(local.s3);
      await assert.rejects(local.s3.send(new HeadObjectCommand({ Bucket: 'out', Key: 'partial.bin' })), (error: unknown) => statusOf(error) === 404);
      await local.dynamo.send(new GetItemCommand({ TableName: local.info.table, Key: { application: { S: 'a' }, leaseKey: { S: 'b' } } }));
      local.child.kill('SIGTERM');
      assert.equal(await local.exited, 0, local.stderr());
    } finally {
      await local.close();
    }
  });
});
