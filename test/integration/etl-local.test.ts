/**
 * etl-local as a newcomer uses it: the `--help` example runs as printed (an env file, no `eval` of a
 * process that never ends), the env it writes is enough for default AWS SDK v3 clients (Kinesis
 * with its default HTTP/2 handler, and with the HTTP/1.1 one) and for the AWS CLI, a checkpoint table exists by
 * default and is named in env, bad names exit 2 before anything starts, and `--s3-directory` can be
 * used again after a restart.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LAUNCHER = join(ROOT, 'scripts/launch/etl-local.mjs');
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** Runs a command to its end; a non-zero exit is returned, not thrown. */
async function run(file: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { cwd: options.cwd ?? ROOT, env: options.env ?? baseEnv, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * A script that uses default SDK v3 clients configured only by the environment: Kinesis with its
 * default handler (HTTP/2) writes and reads a record, and a Kinesis client with the HTTP/1.1
 * handler (as the processor uses) reads it too.
 */
const CLIENT_CHECK = `
import { KinesisClient, DescribeStreamSummaryCommand, PutRecordCommand, GetShardIteratorCommand, GetRecordsCommand } from '@aws-sdk/client-kinesis';
import { S3Client, HeadBucketCommand } from '@aws-sdk/client-s3';
import { DynamoDBClient, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
const kinesis = new KinesisClient({});
const kinesisHttp1 = new KinesisClient({ requestHandler: new NodeHttpHandler() });
const s3 = new S3Client({});
const dynamo = new DynamoDBClient({});
const shards = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'trips' }))).StreamDescriptionSummary.OpenShardCount;
await kinesis.send(new PutRecordCommand({ StreamName: 'trips', PartitionKey: 'k', Data: Buffer.from('over h2c') }));
const read = [];
for (const client of [kinesis, kinesisHttp1]) {
  const { ShardIterator } = await client.send(new GetShardIteratorCommand({ StreamName: 'trips', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }));
  read.push((await client.send(new GetRecordsCommand({ ShardIterator }))).Records.map((r) => Buffer.from(r.Data).toString()).join());
}
await s3.send(new HeadBucketCommand({ Bucket: 'out' }));
const keys = (await dynamo.send(new DescribeTableCommand({ TableName: process.env.CheckpointTable }))).Table.KeySchema.map((k) => k.AttributeName).join();
console.log(JSON.stringify({ shards, read, keys, table: process.env.CheckpointTable }));
for (const c of [kinesis, kinesisHttp1, s3, dynamo]) c.destroy();
`;

describe('etl-local for a newcomer', () => {
  test('the --help example runs as printed: the env file it writes is enough for default SDK clients and the AWS CLI, with a checkpoint table', async () => {
    // Given the example of the help text
    const help = await run(process.execPath, [LAUNCHER, '--help']);
    assert.equal(help.code, 0);
    const example = help.stdout.split('\n').filter((l) => /^ {2}(npx etl-local|until )/.test(l));
    assert.equal(example.length, 2, `the example starts etl-local and waits for its env file:\n${help.stdout}`);
    const dir = await mkdtemp(join(tmpdir(), 'etl-local-help-'));
    try {
      // When it runs in a shell (the env file in a temporary directory), followed by clients that read only the environment
      const envFile = join(dir, 'local.env');
      const script = [
        'set -e',
        // (a failure below must not leave etl-local running)
        "trap 'kill %1 2>/dev/null || true' EXIT",
        ...example.map((l) => l.trim().replace(/(\.\/)?local\.env/g, envFile)),
        'node --input-type=module -e "$CLIENT_CHECK"',
        'if command -v aws >/dev/null; then aws kinesis describe-stream-summary --stream-name trips --query StreamDescriptionSummary.OpenShardCount --output text; else echo "no aws cli"; fi',
        'kill %1',
        // (npm, killed, ends with 143; etl-local under it stops on its own, removing its env file)
        'wait %1 || true',
        `for i in $(seq 1 300); do [ -e ${JSON.stringify(envFile)} ] || break; sleep 0.1; done`,
      ].join('\n');
      const result = await run('bash', ['-c', script], { env: { ...baseEnv, CLIENT_CHECK } });

      // Then the clients reached the stream, the bucket and the checkpoint table, and etl-local ended
      assert.equal(result.code, 0, `${result.code}\n${result.stdout}\n${result.stderr}`);
      const lines = result.stdout.trim().split('\n');
      const check = JSON.parse(lines.find((l) => l.startsWith('{"shards"'))!) as { shards: number; read: string[]; keys: string; table: string };
      assert.deepEqual(check, { shards: 1, read: ['over h2c', 'over h2c'], keys: 'application,leaseKey', table: 'etl-checkpoints' });
      const cli = lines.at(-1);
      if (cli !== 'no aws cli') assert.equal(cli, '1', 'the AWS CLI reads the stream with the env alone');
      await assert.rejects(readFile(envFile), 'the env file is removed on exit');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('bad bucket, table and stream names exit 2 naming the flag and the value, before anything starts', async () => {
    for (const [flag, value] of [
      ['--bucket', 'My_Bucket'],
      ['--table', 'x'],
      ['--stream', 'trips!'],
    ] as const) {
      const result = await run(process.execPath, [LAUNCHER, flag, value]);
      assert.equal(result.code, 2, `${flag} ${value}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`${flag} .*"${value.replace('!', '\\!')}"`));
      assert.equal(result.stdout, '', 'nothing started');
    }
  });

  test('--s3-directory is used again after a restart: the bucket and its objects are still there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etl-local-s3dir-'));
    try {
      for (const round of [1, 2]) {
        // Given etl-local on the same S3 directory with the same bucket
        const child = spawn(process.execPath, [LAUNCHER, '--bucket', 'kept', '--s3-directory', dir], { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
        const line = await Promise.race([new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r)), exited.then(() => '')]);
        assert.notEqual(line, '', `round ${round}: etl-local exited before it was up: ${stderr}`);
        const info = JSON.parse(line) as { env: Record<string, string> };
        const env = { ...baseEnv, ...info.env };
        // When round 1 writes an object and round 2 reads it
        const code =
          round === 1
            ? `import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3'; const s3 = new S3Client({}); await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'a.txt', Body: 'kept across restarts' })); s3.destroy();`
            : `import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3'; const s3 = new S3Client({}); console.log(await (await s3.send(new GetObjectCommand({ Bucket: 'kept', Key: 'a.txt' }))).Body.transformToString()); s3.destroy();`;
        const client = await run(process.execPath, ['--input-type=module', '-e', code], { env });
        assert.equal(client.code, 0, client.stderr);
        if (round === 2) assert.equal(client.stdout.trim(), 'kept across restarts');
        child.kill('SIGTERM');
        assert.equal(await exited, 0, stderr);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`killing the npx wrapper with ${signal} stops the command under it`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'etl-local-npx-'));
      try {
        // Given etl-local started through npx, up (its env file written)
        const envFile = join(dir, 'local.env');
        const npx = spawn('npx', ['etl-local', '--env-out', envFile], { cwd: ROOT, env: baseEnv, stdio: 'ignore' });
        const npxExited = new Promise<void>((r) => npx.on('exit', () => r()));
        for (let i = 0; i < 1200 && !existsSync(envFile); i += 1) await new Promise((r) => setTimeout(r, 100));
        assert.ok(existsSync(envFile), 'etl-local came up under npx');
        // When the wrapper is killed
        npx.kill(signal);
        await npxExited;
        // Then etl-local stops too: it removes its env file as it exits
        for (let i = 0; i < 600 && existsSync(envFile); i += 1) await new Promise((r) => setTimeout(r, 100));
        assert.ok(!existsSync(envFile), 'etl-local stopped after its npx wrapper was killed');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
