/**
 * The three commands as a user runs them: `--help`, unknown flags and bad values (exit 2 with a
 * message naming the flag or property and the value), and etl-local's one JSON line whose `env`
 * is enough for another process to use the services.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { baseClientConfig } from '../../common/aws.js';
import { kafkaSkipReason } from '../support/kafka.js';
import { openSearchSkipReason } from '../support/opensearch.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const launcher = (name: string): string => join(ROOT, 'scripts/launch', `${name}.mjs`);
const env = { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_REGION: 'us-east-1' };

async function run(name: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [launcher(name), ...args], { env: { ...env, ...extraEnv } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('etl-processor', () => {
  test('--help lists every property group and the precedence', async () => {
    const { code, stdout } = await run('etl-processor', ['--help']);
    assert.equal(code, 0);
    for (const word of ['InputKinesisStream', 'InputStreamInitalPosition', 'OutputBucket', 'ParquetConversion', 'CheckpointInterval', 'APPLICATION_PROPERTIES_JSON']) {
      assert.match(stdout, new RegExp(word));
    }
  });

  test('bad configuration exits 2 and names every property and value at once', async () => {
    const { code, stderr } = await run('etl-processor', ['--InputStreamInitalPosition', 'EARLIEST', '--CheckpointInterval', 'soon']);
    assert.equal(code, 2);
    assert.match(stderr, /InputStreamInitalPosition.*EARLIEST/);
    assert.match(stderr, /CheckpointInterval.*soon/);
    assert.match(stderr, /InputKinesisStream/, 'the missing source is reported in the same run');
  });

  test('an unknown flag exits 2 naming it', async () => {
    const { code, stderr } = await run('etl-processor', ['--InputKinesisStreem', 'x']);
    assert.equal(code, 2);
    assert.match(stderr, /InputKinesisStreem/);
  });

  test('MSK IAM authentication with a SCRAM password, or with neither a region in the broker host nor AWS_REGION, exits 2 naming both (the password not shown)', async () => {
    const { code, stderr } = await run(
      'etl-processor',
      [
        '--InputKinesisStream', 's',
        '--OutputKafkaTopic', 'out',
        '--OutputKafkaBootstrapServers', 'localhost:9098',
        '--OutputKafkaSecurityProtocol', 'SASL_SSL',
        '--OutputKafkaSaslMechanism', 'AWS_MSK_IAM',
        '--OutputKafkaSaslPassword', 'hunter2',
      ],
      { AWS_REGION: '' },
    );
    assert.equal(code, 2);
    assert.match(stderr, /OutputKafkaBootstrapServers="localhost:9098" .*broker host "localhost", which names no AWS region.*AWS_REGION is not set/);
    assert.match(stderr, /OutputKafkaSaslPassword \(value not shown\) is not used with AWS_MSK_IAM/);
    assert.doesNotMatch(stderr, /hunter2/);
  });
});

describe('etl-local', () => {
  test('prints one JSON line whose env reaches the created stream, bucket and table, and stops on SIGTERM', async () => {
    // Given etl-local asked for a stream, a bucket and a table
    const child = spawn(process.execPath, [launcher('etl-local'), '--stream', 'cli-trips', '--shards', '3', '--bucket', 'cli-bucket', '--table', 'cli-table'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const line = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r));
    const info = JSON.parse(line) as { env: Record<string, string>; stream: string; shards: number; bucket: string; table: string };

    // Then the env has exactly what a client needs, and it works
    assert.deepEqual(Object.keys(info.env).sort(), [
      'AWS_ACCESS_KEY_ID',
      'AWS_DEFAULT_REGION',
      'AWS_ENDPOINT_URL_DYNAMODB',
      'AWS_ENDPOINT_URL_KINESIS',
      'AWS_ENDPOINT_URL_S3',
      'AWS_REGION',
      'AWS_S3_FORCE_PATH_STYLE',
      'AWS_SECRET_ACCESS_KEY',
      'CheckpointTable',
    ]);
    assert.equal(info.env.CheckpointTable, 'cli-table');
    const credentials = { accessKeyId: info.env.AWS_ACCESS_KEY_ID!, secretAccessKey: info.env.AWS_SECRET_ACCESS_KEY! };
    const region = info.env.AWS_REGION!;
    // The processor's own client settings (baseClientConfig: HTTP/1.1); etl-local.test.ts covers a default client.
    const kinesis = new KinesisClient({ ...baseClientConfig({ region, endpoint: info.env.AWS_ENDPOINT_URL_KINESIS! }), credentials });
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'cli-trips' }));
    assert.equal(summary.StreamDescriptionSummary?.OpenShardCount, 3);
    const s3 = new S3Client({ region, endpoint: info.env.AWS_ENDPOINT_URL_S3!, credentials, forcePathStyle: true });
    await s3.send(new HeadBucketCommand({ Bucket: 'cli-bucket' }));
    const dynamo = new DynamoDBClient({ region, endpoint: info.env.AWS_ENDPOINT_URL_DYNAMODB!, credentials });
    assert.equal((await dynamo.send(new DescribeTableCommand({ TableName: 'cli-table' }))).Table?.KeySchema?.map((k) => k.AttributeName).join(), 'application,leaseKey');
    for (const c of [kinesis, s3, dynamo]) c.destroy();

    // When it gets SIGTERM, it exits 0
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  test('rejects unknown flags and bad values, naming them', async () => {
    const unknown = await run('etl-local', ['--streams', 'x']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown flag "--streams"/);
    const bad = await run('etl-local', ['--stream', 'x', '--shards', 'many']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--shards.*"many"/);
    const help = await run('etl-local', ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--bucket/);
    assert.match(help.stdout, /--kafka/);
    assert.match(help.stdout, /--opensearch/);
    const topicAlone = await run('etl-local', ['--topic', 't']);
    assert.equal(topicAlone.code, 2);
    assert.match(topicAlone.stderr, /--topic needs --kafka/);
  });
});

/** Whether something accepts TCP connections on `host:port`. */
function listening(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('etl-local with the Java services', { skip: kafkaSkipReason() || openSearchSkipReason() }, () => {
  test('--kafka --topic and --opensearch add a working broker (with the topic) and node to the JSON line, and SIGTERM stops them', async () => {
    // Given etl-local asked for Kafka with a topic, and OpenSearch
    const child = spawn(process.execPath, [launcher('etl-local'), '--kafka', '--topic', 'cli-topic', '--partitions', '2', '--opensearch'], {
      env: { ...env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const line = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r));
    const info = JSON.parse(line) as { kafkaBootstrapServers: string; topic: string; partitions: number; opensearchEndpoint: string; env: Record<string, string> };

    // Then both answer on loopback, and the topic has its partitions
    assert.match(info.kafkaBootstrapServers, /^127\.0\.0\.1:\d+$/);
    assert.match(info.opensearchEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    const admin = new Kafka({ clientId: 'cli-test', brokers: [info.kafkaBootstrapServers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: ['cli-topic'] });
    await admin.disconnect();
    assert.equal(metadata.topics[0]?.partitions.length, 2);
    const health = (await (await fetch(`${info.opensearchEndpoint}/_cluster/health`)).json()) as { status: string; number_of_nodes: number };
    assert.equal(health.status, 'green');
    assert.equal(health.number_of_nodes, 1);

    // When it gets SIGTERM, it exits 0 and both servers are gone
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(await listening(info.kafkaBootstrapServers), false, 'the broker stopped');
    assert.equal(await listening(info.opensearchEndpoint.replace('http://', '')), false, 'the node stopped');
  });
});
