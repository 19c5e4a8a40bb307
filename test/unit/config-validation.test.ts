/**
 * processor/config: validation — every rule, messages naming the property, the value and its
 * source, all problems at once — and the typed result (ARNs, s3:// buckets, sinks).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { joinKeyPrefix } from '../../common/s3/index.js';
import { PROPERTY_SPECS, loadConfig, parseIsoTimestamp, processorHelp } from '../../processor/config/index.js';
import { kafkaSecurityConfig } from '../../common/kafka/client.js';
import type { ProcessorConfig, S3SinkConfig } from '../../processor/config/index.js';

const KINESIS = { InputKinesisStream: 'trips' } as const;
const DISCARD = { OutputDiscarding: 'true' } as const;

async function load(env: Record<string, string>, argv: string[] = []): Promise<{ config: ProcessorConfig; warnings: readonly string[] }> {
  const result = await loadConfig({ argv, env });
  if (result.help) throw new Error('unexpected help');
  return result;
}

async function problemsOf(env: Record<string, string>, argv: string[] = []): Promise<readonly string[]> {
  try {
    await load(env, argv);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

async function onlyProblem(env: Record<string, string>, argv: string[] = []): Promise<string> {
  const problems = await problemsOf(env, argv);
  assert.equal(problems.length, 1, problems.join('\n'));
  return problems[0] as string;
}

function s3Of(config: ProcessorConfig): S3SinkConfig {
  const sink = config.sinks.find((candidate) => candidate.kind === 's3');
  assert.ok(sink?.kind === 's3');
  return sink;
}

describe('types and ranges', () => {
  test('an enum value outside the list names the property, the value and the source', async () => {
    assert.equal(
      await onlyProblem({ ...KINESIS, ...DISCARD, InputStreamInitalPosition: 'EARLIEST' }),
      'InputStreamInitalPosition: expected one of TRIM_HORIZON, LATEST, AT_TIMESTAMP, got "EARLIEST" (from environment)',
    );
  });

  test('enum values and booleans are case-insensitive and normalised', async () => {
    const { config } = await load({ ...KINESIS, OutputDiscarding: 'TRUE', InputStreamInitalPosition: 'trim_horizon', OutputBucket: 'b-1', ParquetCompression: 'zstd', ParquetConversion: 'False' });
    assert.equal(config.source.kind === 'kinesis' && config.source.initialPosition.type, 'TRIM_HORIZON');
    assert.equal(s3Of(config).parquetCompression, 'ZSTD');
    assert.equal(s3Of(config).format, 'json');
    assert.ok(config.sinks.some((sink) => sink.kind === 'discard'));
  });

  for (const [name, value, expected] of [
    ['OutputDiscarding', 'yes', 'OutputDiscarding: expected true or false, got "yes" (from flag --OutputDiscarding)'],
    ['CheckpointInterval', '99', 'CheckpointInterval: expected an integer >= 100, got "99" (from flag --CheckpointInterval)'],
    ['CheckpointInterval', '1e5', 'CheckpointInterval: expected an integer >= 100, got "1e5" (from flag --CheckpointInterval)'],
    ['CheckpointInterval', '1000.5', 'CheckpointInterval: expected an integer >= 100, got "1000.5" (from flag --CheckpointInterval)'],
    ['OutputRolloverSizeMb', '5001', 'OutputRolloverSizeMb: expected an integer from 1 to 5000, got "5001" (from flag --OutputRolloverSizeMb)'],
    ['HealthCheckPort', '-1', 'HealthCheckPort: expected an integer from 0 to 65535, got "-1" (from flag --HealthCheckPort)'],
  ] as const) {
    test(`${name}=${value} is rejected`, async () => {
      assert.equal(await onlyProblem({ ...KINESIS, ...DISCARD }, [`--${name}=${value}`]), expected);
    });
  }

  test('a lease renewal interval of half the lease duration or more is rejected, naming both', async () => {
    assert.equal(
      await onlyProblem({ ...KINESIS, ...DISCARD, LeaseDuration: '4000' }, ['--LeaseRenewInterval', '2000']),
      'LeaseRenewInterval: expected under half of LeaseDuration (4000 ms), so that one missed renewal is not fatal, got "2000" (from flag --LeaseRenewInterval)',
    );
    const { config } = await load({ ...KINESIS, ...DISCARD, LeaseDuration: '4000', LeaseRenewInterval: '1999', LeaseBalanceInterval: '500' });
    assert.equal(config.leaseRenewIntervalMs, 1999);
    assert.equal(config.leaseBalanceIntervalMs, 500);
  });

  test('range limits themselves are accepted', async () => {
    const { config } = await load({ ...KINESIS, ...DISCARD, CheckpointInterval: '100', HealthCheckPort: '65535', OutputBucket: 'abc', OutputRolloverSizeMb: '5000' });
    assert.equal(config.checkpointIntervalMs, 100);
    assert.equal(config.healthCheckPort, 65535);
    assert.equal(s3Of(config).rolloverSizeBytes, 5000 * 1024 * 1024);
  });
});

describe('all problems at once', () => {
  test('three bad values give three problems, each with its own source', async () => {
    // Given
    const env = { ...KINESIS, ...DISCARD, InputStreamInitalPosition: 'EARLIEST', StatusInterval: 'often' };
    const document = JSON.stringify([{ PropertyGroupId: 'FlinkApplicationProperties', PropertyMap: { ParquetConversion: 'maybe' } }]);
    // When
    const problems = await problemsOf({ ...env, APPLICATION_PROPERTIES_JSON: document }, ['--HealthCheckPort', '70000']);
    // Then
    assert.deepEqual([...problems].sort(), [
      'HealthCheckPort: expected an integer from 0 to 65535, got "70000" (from flag --HealthCheckPort)',
      'InputStreamInitalPosition: expected one of TRIM_HORIZON, LATEST, AT_TIMESTAMP, got "EARLIEST" (from environment)',
      'ParquetConversion: expected true or false, got "maybe" (from environment variable APPLICATION_PROPERTIES_JSON)',
      'StatusInterval: expected an integer >= 100, got "often" (from environment)',
    ]);
  });

  test('a missing source and a missing sink are reported together, and the message lists all of them', async () => {
    const error = await loadConfig({ argv: [], env: {} }).then(
      () => assert.fail('expected a ConfigError'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 2);
    assert.match(error.message, /^invalid configuration \(2 problems\):\n {2}- no source: .*\n {2}- no sink: /);
  });
});

describe('exactly one source', () => {
  test('Kinesis and Kafka both set: names both properties, their values and sources', async () => {
    const problem = await onlyProblem({ ...DISCARD, InputKinesisStream: 'trips', InputKafkaTopic: 'trips-topic', InputKafkaBootstrapServers: 'b:9092' });
    assert.equal(
      problem,
      'exactly one source is read, but both are set: Kinesis InputKinesisStream="trips" (from environment) and Kafka InputKafkaTopic="trips-topic" (from environment) and InputKafkaBootstrapServers="b:9092" (from environment); unset one of them',
    );
  });

  test('neither set: says which properties to set', async () => {
    assert.equal(
      await onlyProblem(DISCARD),
      'no source: set InputKinesisStream (a Kinesis stream name or ARN), or InputKafkaTopic and InputKafkaBootstrapServers (a Kafka topic), or InputFile (a local path or s3://bucket/prefix of JSON-lines files); none of them is set',
    );
  });

  test('a Kafka source needs both topic and servers', async () => {
    assert.equal(
      await onlyProblem({ ...DISCARD, InputKafkaTopic: 'trips' }),
      'InputKafkaTopic="trips" (from environment) needs InputKafkaBootstrapServers too, which is not set (a Kafka topic needs both)',
    );
    assert.equal(
      await onlyProblem({ ...DISCARD, InputKafkaBootstrapServers: 'b:9092' }),
      'InputKafkaBootstrapServers="b:9092" (from environment) needs InputKafkaTopic too, which is not set (a Kafka topic needs both)',
    );
  });

  test('a Kafka source: servers split and trimmed, group id defaults to ApplicationName', async () => {
    const { config } = await load({ ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: 'b-1:9092, b-2:9094,[::1]:9092', ApplicationName: 'app' });
    assert.deepEqual(config.source, { kind: 'kafka', topic: 'trips', bootstrapServers: ['b-1:9092', 'b-2:9094', '[::1]:9092'], groupId: 'app', startingPosition: 'LATEST', security: { protocol: 'PLAINTEXT' } });
    const withGroup = await load({ ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: 'b:9092', InputKafkaGroupId: 'g' });
    assert.equal(withGroup.config.source.kind === 'kafka' && withGroup.config.source.groupId, 'g');
  });

  test('InputKafkaStartingPosition: earliest or latest (case-insensitive); another value is a problem; ignored with a warning for Kinesis', async () => {
    const { config } = await load({ ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: 'b:9092', InputKafkaStartingPosition: 'earliest' });
    assert.equal(config.source.kind === 'kafka' && config.source.startingPosition, 'EARLIEST');
    const problems = await problemsOf({ ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: 'b:9092', InputKafkaStartingPosition: 'beginning' });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /InputKafkaStartingPosition.*beginning/);
    const kinesis = await load({ ...KINESIS, ...DISCARD, InputKafkaStartingPosition: 'EARLIEST' });
    assert.deepEqual(kinesis.warnings, ['InputKafkaStartingPosition="EARLIEST" (from environment) ignored: it applies to a Kafka source only']);
  });

  test('bad bootstrap servers are named', async () => {
    assert.equal(
      await onlyProblem({ ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: 'b:9092,nohost,c:99999' }),
      'InputKafkaBootstrapServers: expected comma-separated host:port pairs such as broker-1:9092,broker-2:9092 (not host:port: nohost, c:99999), got "b:9092,nohost,c:99999" (from environment)',
    );
  });
});

describe('Kinesis streams: name or ARN', () => {
  test('an ARN gives the name, the ARN and its region when InputStreamRegion is empty', async () => {
    const arn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/trips';
    const { config } = await load({ ...DISCARD, InputKinesisStream: arn, InputStreamRegion: '' });
    assert.deepEqual(config.source, { kind: 'kinesis', streamName: 'trips', streamArn: arn, region: 'eu-west-1', initialPosition: { type: 'LATEST' } });
  });

  test('a name keeps InputStreamRegion; an ARN agreeing with it is fine; a contradicting one is a problem', async () => {
    const named = await load({ ...DISCARD, InputKinesisStream: 'trips', InputStreamRegion: 'us-west-2' });
    assert.deepEqual(named.config.source, { kind: 'kinesis', streamName: 'trips', region: 'us-west-2', initialPosition: { type: 'LATEST' } });
    const agreeing = await load({ ...DISCARD, InputKinesisStream: 'arn:aws-cn:kinesis:cn-north-1:123456789012:stream/t', InputStreamRegion: 'cn-north-1' });
    assert.equal(agreeing.config.source.kind === 'kinesis' && agreeing.config.source.region, 'cn-north-1');
    assert.equal(
      await onlyProblem({ ...DISCARD, InputKinesisStream: 'arn:aws:kinesis:eu-west-1:123456789012:stream/t', InputStreamRegion: 'us-east-1' }),
      'InputStreamRegion="us-east-1" (from environment) contradicts the region eu-west-1 of InputKinesisStream="arn:aws:kinesis:eu-west-1:123456789012:stream/t" (from environment); leave it empty or make them agree',
    );
  });

  test('a malformed ARN or name is a problem', async () => {
    assert.match(await onlyProblem({ ...DISCARD, InputKinesisStream: 'arn:aws:kinesis:eu-west-1:123:stream/t' }), /^InputKinesisStream: expected a Kinesis stream ARN .*, got "arn:aws:kinesis:eu-west-1:123:stream\/t" \(from environment\)$/);
    assert.match(await onlyProblem({ ...DISCARD, InputKinesisStream: 'my stream' }), /^InputKinesisStream: expected a stream name .*, got "my stream" \(from environment\)$/);
  });

  test('the output stream takes a name or an ARN too', async () => {
    const { config } = await load({ ...KINESIS, OutputKinesisStream: 'arn:aws:kinesis:us-east-2:123456789012:stream/out' });
    assert.deepEqual(config.sinks, [{ kind: 'kinesis', streamName: 'out', streamArn: 'arn:aws:kinesis:us-east-2:123456789012:stream/out', region: 'us-east-2' }]);
    assert.match(await onlyProblem({ ...KINESIS, OutputKinesisStream: 'arn:nope' }), /^OutputKinesisStream: expected a Kinesis stream ARN/);
  });
});

describe('initial position', () => {
  test('AT_TIMESTAMP needs InputStreamInitialTimestamp', async () => {
    assert.equal(
      await onlyProblem({ ...KINESIS, ...DISCARD, InputStreamInitialPosition: 'AT_TIMESTAMP' }),
      'InputStreamInitialTimestamp: must be set to an ISO-8601 time such as 2018-01-01T00:00:00Z when InputStreamInitialPosition="AT_TIMESTAMP" (from environment)',
    );
  });

  test('AT_TIMESTAMP with a valid ISO-8601 time', async () => {
    const { config } = await load({ ...KINESIS, ...DISCARD, InputStreamInitalPosition: 'at_timestamp', InputStreamInitialTimestamp: '2018-01-01T02:21:05+01:00' });
    assert.deepEqual(config.source.kind === 'kinesis' && config.source.initialPosition, { type: 'AT_TIMESTAMP', timestamp: new Date('2018-01-01T01:21:05Z') });
  });

  test('an invalid time is a problem naming the value', async () => {
    assert.equal(
      await onlyProblem({ ...KINESIS, ...DISCARD, InputStreamInitalPosition: 'AT_TIMESTAMP', InputStreamInitialTimestamp: '2018-02-30T00:00:00Z' }),
      'InputStreamInitialTimestamp: expected an ISO-8601 time such as 2018-01-01T00:00:00Z or 2018-01-01T01:00:00+01:00, got "2018-02-30T00:00:00Z" (from environment)',
    );
  });

  test('a timestamp without AT_TIMESTAMP is a warning, not an error', async () => {
    const { warnings } = await load({ ...KINESIS, ...DISCARD, InputStreamInitialTimestamp: '2018-01-01' });
    assert.deepEqual(warnings, [
      'InputStreamInitialTimestamp="2018-01-01" (from environment) ignored: it applies only when InputStreamInitalPosition is AT_TIMESTAMP, and InputStreamInitalPosition="LATEST" (from default)',
    ]);
  });

  test('parseIsoTimestamp: dates, offsets, fractions; rejects impossible or non-ISO text', () => {
    assert.equal(parseIsoTimestamp('2018-01-01')?.toISOString(), '2018-01-01T00:00:00.000Z');
    assert.equal(parseIsoTimestamp('2018-01-01T02:21:05.5Z')?.toISOString(), '2018-01-01T02:21:05.500Z');
    assert.equal(parseIsoTimestamp('2018-01-01T02:21-0230')?.toISOString(), '2018-01-01T04:51:00.000Z');
    assert.equal(parseIsoTimestamp('2016-02-29T00:00:00Z')?.toISOString(), '2016-02-29T00:00:00.000Z');
    for (const bad of ['2017-02-29', '2018-13-01', '2018-01-01T24:00:00Z', 'yesterday', '1514773265000', '2018-01-01 02:21:05Z']) {
      assert.equal(parseIsoTimestamp(bad), undefined, bad);
    }
  });
});

describe('sinks', () => {
  test('no sink names every way to get one and what OutputDiscarding is', async () => {
    assert.equal(
      await onlyProblem(KINESIS),
      'no sink: set at least one of OutputBucket, OutputKinesisStream, OutputKafkaTopic with OutputKafkaBootstrapServers, OutputElasticsearchEndpoint, or OutputDiscarding=true; none is set and OutputDiscarding="false" (from default)',
    );
  });

  test('all sinks together, in a fixed order', async () => {
    const { config } = await load({
      ...KINESIS,
      ...DISCARD,
      OutputBucket: 'my-bucket',
      OutputKinesisStream: 'copy',
      OutputKafkaTopic: 'out',
      OutputKafkaBootstrapServers: 'k:9092',
      OutputElasticsearchEndpoint: 'https://search.example.com/',
      ElasticsearchRegion: 'eu-west-1',
    });
    assert.deepEqual(config.sinks.map((sink) => sink.kind), ['s3', 'opensearch', 'kinesis', 'kafka', 'discard']);
    assert.deepEqual(config.sinks[1], { kind: 'opensearch', endpoint: 'https://search.example.com', region: 'eu-west-1', bulkFlushMaxBytes: 4 * 1024 * 1024, bulkFlushMaxActions: 10000, bulkFlushIntervalMs: 60000, indexField: 'type', indexPrefix: '', documentIdField: 'trip_id' });
    assert.deepEqual(config.sinks[3], { kind: 'kafka', topic: 'out', bootstrapServers: ['k:9092'], compression: 'none', security: { protocol: 'PLAINTEXT' }, deliveryGuarantee: 'EXACTLY_ONCE', transactionalIdPrefix: 'streaming-etl', transactionTimeoutMs: 900000 });
  });

  test('Kafka security: SSL; SASL_SSL with SCRAM needs a user name and a password; kafkajs gets ssl and sasl', async () => {
    const kafkaIn = { ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: 'b:9096' };
    const tls = await load({ ...kafkaIn, InputKafkaSecurityProtocol: 'ssl' });
    assert.deepEqual(tls.config.source.kind === 'kafka' && tls.config.source.security, { protocol: 'SSL' });
    assert.deepEqual(kafkaSecurityConfig({ protocol: 'SSL' }), { ssl: true });
    const scram = await load({ ...kafkaIn, InputKafkaSecurityProtocol: 'SASL_SSL', InputKafkaSaslUsername: 'etl', InputKafkaSaslPassword: 's3cret' });
    const security = scram.config.source.kind === 'kafka' ? scram.config.source.security : undefined;
    assert.deepEqual(security, { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', username: 'etl', password: 's3cret' });
    assert.deepEqual(kafkaSecurityConfig(security!), { ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'etl', password: 's3cret' } });
    assert.deepEqual(await problemsOf({ ...kafkaIn, InputKafkaSecurityProtocol: 'SASL_SSL', InputKafkaSaslMechanism: 'SCRAM-SHA-256' }), [
      'InputKafkaSaslUsername: needed with InputKafkaSecurityProtocol=SASL_SSL and SCRAM-SHA-256',
      'InputKafkaSaslPassword: needed with InputKafkaSecurityProtocol=SASL_SSL and SCRAM-SHA-256',
    ]);
    const ignored = await load({ ...KINESIS, ...DISCARD, InputKafkaSaslUsername: 'etl' });
    assert.deepEqual(ignored.warnings, ['InputKafkaSaslUsername="etl" (from environment) ignored: it applies to a Kafka source only']);
  });

  test('Kafka security AWS_MSK_IAM: accepted for source and sink with SASL_SSL, no user name or password; the region from the MSK host names or AWS_REGION; kafkajs gets TLS and the AWS_MSK_IAM mechanism', async () => {
    const msk = 'b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098';
    const iam = { InputKafkaSecurityProtocol: 'SASL_SSL', InputKafkaSaslMechanism: 'aws_msk_iam' };
    const source = await load({ ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: msk, ...iam });
    const security = source.config.source.kind === 'kafka' ? source.config.source.security : undefined;
    assert.deepEqual(security, { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM', property: 'InputKafkaBootstrapServers' });
    assert.deepEqual(source.warnings, []);
    const client = kafkaSecurityConfig(security!);
    assert.equal(client.ssl, true);
    assert.equal((client.sasl as { mechanism: string }).mechanism, 'AWS_MSK_IAM');
    assert.equal(typeof (client.sasl as { authenticationProvider?: unknown }).authenticationProvider, 'function');
    // The sink, on brokers whose names give no region: AWS_REGION gives it.
    const sinkIam = { OutputKafkaTopic: 'out', OutputKafkaBootstrapServers: 'kafka-1.internal:9098', OutputKafkaSecurityProtocol: 'SASL_SSL', OutputKafkaSaslMechanism: 'AWS_MSK_IAM' };
    const sink = await load({ ...KINESIS, ...sinkIam, AWS_REGION: 'us-east-2' });
    assert.deepEqual(sink.config.sinks.find((s) => s.kind === 'kafka'), { kind: 'kafka', topic: 'out', bootstrapServers: ['kafka-1.internal:9098'], compression: 'none', security: { protocol: 'SASL_SSL', mechanism: 'AWS_MSK_IAM', region: 'us-east-2', property: 'OutputKafkaBootstrapServers' }, deliveryGuarantee: 'EXACTLY_ONCE', transactionalIdPrefix: 'streaming-etl', transactionTimeoutMs: 900000 });
    // Neither: a problem naming the property and the host.
    assert.equal(
      await onlyProblem({ ...KINESIS, ...sinkIam }),
      'OutputKafkaBootstrapServers="kafka-1.internal:9098" (from environment) has broker host "kafka-1.internal", which names no AWS region (an MSK broker is …kafka.<region>.amazonaws.com), and AWS_REGION is not set: AWS_MSK_IAM needs the region to sign for; set AWS_REGION or use the MSK broker host names',
    );
    // A user name or password with IAM is refused (a password that would never be used is a mistake); the password is not shown.
    assert.deepEqual(await problemsOf({ ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: msk, ...iam, InputKafkaSaslUsername: 'etl', InputKafkaSaslPassword: 'hunter2' }), [
      'InputKafkaSaslUsername="etl" (from environment) is not used with AWS_MSK_IAM (IAM auth signs with the AWS credentials of the task role); unset it, or use a SCRAM mechanism',
      'InputKafkaSaslPassword (value not shown) is not used with AWS_MSK_IAM (IAM auth signs with the AWS credentials of the task role); unset it, or use a SCRAM mechanism',
    ]);
    // AWS_MSK_IAM applies only with SASL_SSL: with SSL the mechanism is not used.
    const tls = await load({ ...DISCARD, InputKafkaTopic: 'trips', InputKafkaBootstrapServers: msk, InputKafkaSecurityProtocol: 'SSL', InputKafkaSaslMechanism: 'AWS_MSK_IAM' });
    assert.deepEqual(tls.config.source.kind === 'kafka' && tls.config.source.security, { protocol: 'SSL' });
  });

  test('OutputKafkaCompression: none by default, one of the codecs, a warning without OutputKafkaTopic', async () => {
    const { config } = await load({ ...KINESIS, OutputKafkaTopic: 'out', OutputKafkaBootstrapServers: 'k:9092', OutputKafkaCompression: 'LZ4' });
    assert.deepEqual(config.sinks[0], { kind: 'kafka', topic: 'out', bootstrapServers: ['k:9092'], compression: 'lz4', security: { protocol: 'PLAINTEXT' }, deliveryGuarantee: 'EXACTLY_ONCE', transactionalIdPrefix: 'streaming-etl', transactionTimeoutMs: 900000 });
    assert.match(await onlyProblem({ ...KINESIS, OutputKafkaTopic: 'out', OutputKafkaBootstrapServers: 'k:9092', OutputKafkaCompression: 'brotli' }), /OutputKafkaCompression.*brotli/);
    const alone = await load({ ...KINESIS, ...DISCARD, OutputKafkaCompression: 'zstd' });
    assert.deepEqual(alone.warnings, ['OutputKafkaCompression="zstd" (from environment) ignored: OutputKafkaTopic is not set']);
  });

  test('OutputKafkaDeliveryGuarantee, OutputKafkaTransactionalIdPrefix (default ApplicationName), OutputKafkaTransactionTimeout', async () => {
    const sink = { ...KINESIS, OutputKafkaTopic: 'out', OutputKafkaBootstrapServers: 'k:9092' };
    const named = await load({ ...sink, ApplicationName: 'trips-etl', OutputKafkaDeliveryGuarantee: 'at_least_once', OutputKafkaTransactionTimeout: '600000' });
    assert.deepEqual(named.config.sinks[0], {
      kind: 'kafka',
      topic: 'out',
      bootstrapServers: ['k:9092'],
      compression: 'none',
      security: { protocol: 'PLAINTEXT' },
      deliveryGuarantee: 'AT_LEAST_ONCE',
      transactionalIdPrefix: 'trips-etl',
      transactionTimeoutMs: 600000,
    });
    const prefixed = await load({ ...sink, OutputKafkaTransactionalIdPrefix: 'etl.trips_1' });
    assert.equal((prefixed.config.sinks[0] as { transactionalIdPrefix: string }).transactionalIdPrefix, 'etl.trips_1');
    assert.match(await onlyProblem({ ...sink, OutputKafkaDeliveryGuarantee: 'EXACTLY_TWICE' }), /OutputKafkaDeliveryGuarantee.*EXACTLY_TWICE/);
    assert.equal(
      await onlyProblem({ ...sink, OutputKafkaTransactionalIdPrefix: 'a b' }),
      'OutputKafkaTransactionalIdPrefix: expected 1 to 200 letters, digits, ".", "_" or "-" (the transactional ids are <prefix>-<run id>-<n>), got "a b" (from environment)',
    );
    assert.match(await onlyProblem({ ...sink, OutputKafkaTransactionTimeout: '100' }), /OutputKafkaTransactionTimeout.*100/);
  });

  test('OutputKafkaTopic needs OutputKafkaBootstrapServers and vice versa', async () => {
    assert.equal(await onlyProblem({ ...KINESIS, OutputKafkaTopic: 'out' }), 'OutputKafkaTopic="out" (from environment) needs OutputKafkaBootstrapServers too, which is not set (a Kafka topic needs both)');
    assert.equal(
      await onlyProblem({ ...KINESIS, OutputKafkaBootstrapServers: 'k:9092' }),
      'OutputKafkaBootstrapServers="k:9092" (from environment) needs OutputKafkaTopic too, which is not set (a Kafka topic needs both)',
    );
  });

  for (const endpoint of ['search.example.com', 'ftp://search.example.com', 'https://']) {
    test(`OpenSearch endpoint "${endpoint}" is not an http(s) URL`, async () => {
      assert.equal(
        await onlyProblem({ ...KINESIS, OutputElasticsearchEndpoint: endpoint }),
        `OutputElasticsearchEndpoint: expected an http:// or https:// URL such as https://search-domain.us-east-1.es.amazonaws.com, got "${endpoint}" (from environment)`,
      );
    });
  }

  test('the OpenSearch index prefix must start an index name; index and id fields must be schema fields', async () => {
    assert.equal(
      await onlyProblem({ ...KINESIS, OutputElasticsearchEndpoint: 'http://localhost:9200', ElasticsearchIndexPrefix: 'Trips-' }),
      'ElasticsearchIndexPrefix: expected the start of an OpenSearch index name: lower-case letters, digits, ".", "_" or "-", not starting with "-", "_" or ".", at most 200 characters, got "Trips-" (from environment)',
    );
    const withFields = await loadConfig({ argv: [], env: { ...KINESIS, OutputElasticsearchEndpoint: 'http://localhost:9200', ElasticsearchDocumentIdField: 'trip' }, fieldNames: ['trip_id', 'type', 'pickup_location_id', 'pickup_datetime'] }).catch((e: unknown) => e);
    assert.ok(withFields instanceof ConfigError, 'an id field the schema lacks is refused');
    assert.deepEqual(withFields.problems, ['ElasticsearchDocumentIdField="trip" (from environment) names no field of the event schema (trip_id, type, pickup_location_id, pickup_datetime)']);
    const { config } = await load({ ...KINESIS, OutputElasticsearchEndpoint: 'http://localhost:9200', ElasticsearchIndexPrefix: 'etl-', ElasticsearchIndexField: 'vendor', ElasticsearchDocumentIdField: 'id' });
    assert.deepEqual(config.sinks[0], { kind: 'opensearch', endpoint: 'http://localhost:9200', region: undefined, bulkFlushMaxBytes: 4 * 1024 * 1024, bulkFlushMaxActions: 10000, bulkFlushIntervalMs: 60000, indexField: 'vendor', indexPrefix: 'etl-', documentIdField: 'id' });
  });

  test('properties of a sink that is not configured are warnings', async () => {
    const { warnings } = await load({ ...KINESIS, ...DISCARD, OutputPrefix: 'x/', ElasticsearchRegion: 'eu-west-1' });
    assert.deepEqual([...warnings].sort(), [
      'ElasticsearchRegion="eu-west-1" (from environment) ignored: OutputElasticsearchEndpoint is not set',
      'OutputPrefix="x/" (from environment) ignored: OutputBucket is not set',
    ]);
  });
});

describe('OutputBucket', () => {
  test('a bucket name: data under OutputPrefix, dead letters under OutputErrorPrefix', async () => {
    const s3 = s3Of((await load({ ...KINESIS, OutputBucket: 'my.bucket-1' })).config);
    assert.deepEqual([s3.bucket, s3.prefix, s3.errorPrefix], ['my.bucket-1', 'parquet/', 'errors/']);
    assert.equal(s3.partitionTemplate, PROPERTY_SPECS.find((spec) => spec.name === 'OutputPartitionTemplate')?.default);
  });

  for (const [bucket, prefix, dataPrefix, errorPrefix] of [
    ['s3://my-bucket/landing/', 'parquet/', 'landing/parquet/', 'landing/errors/'],
    ['s3://my-bucket/landing', '/parquet', 'landing/parquet/', 'landing/errors/'],
    ['s3://my-bucket//a//b/', 'c//d', 'a/b/c/d/', 'a/b/errors/'],
    ['s3://my-bucket', 'parquet', 'parquet/', 'errors/'],
    ['s3://my-bucket/', '/', '', 'errors/'],
    ['S3://my-bucket/x', '/', 'x/', 'x/errors/'],
  ] as const) {
    test(`${bucket} with OutputPrefix "${prefix}" writes under "${dataPrefix}"`, async () => {
      const s3 = s3Of((await load({ ...KINESIS, OutputBucket: bucket, OutputPrefix: prefix })).config);
      assert.deepEqual([s3.bucket, s3.prefix, s3.errorPrefix], ['my-bucket', dataPrefix, errorPrefix]);
    });
  }

  for (const bad of ['ab', 'a'.repeat(64), 'My-Bucket', 'my_bucket', '-bucket', 'bucket-', 'my..bucket', '192.168.1.1', 'xn--bucket', 'bucket-s3alias', 's3://', 'arn:aws:s3:::bucket', 'bucket/prefix']) {
    test(`"${bad}" is not a bucket`, async () => {
      assert.match(await onlyProblem({ ...KINESIS, OutputBucket: bad }), new RegExp(`^OutputBucket: expected .*, got "${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" \\(from environment\\)$`));
    });
  }

  test('dead letters may not share the data prefix', async () => {
    assert.match(await onlyProblem({ ...KINESIS, OutputBucket: 'my-bucket', OutputPrefix: 'out', OutputErrorPrefix: '/out/' }), /^OutputErrorPrefix="\/out\/" \(from environment\) must differ from the data prefix "out\/"/);
  });

  test('joinKeyPrefix normalises slashes', () => {
    assert.equal(joinKeyPrefix('', ''), '');
    assert.equal(joinKeyPrefix('/', '//'), '');
    assert.equal(joinKeyPrefix('a', 'b'), 'a/b/');
    assert.equal(joinKeyPrefix('/a/', '/b/'), 'a/b/');
  });
});

describe('partition template in the configuration', () => {
  test('a template that does not compile is a problem naming the position', async () => {
    assert.equal(
      await onlyProblem({ ...KINESIS, OutputBucket: 'my-bucket' }, ['--OutputPartitionTemplate', 'year={pickup_datetime:yyy}/']),
      `OutputPartitionTemplate="year={pickup_datetime:yyy}/" (from flag --OutputPartitionTemplate) does not compile: unknown format "yyy" for "pickup_datetime": use %d, %0Nd, or a UTC date pattern of yyyy, MM, dd, HH, mm, ss separated by - _ . (at position 22)`,
    );
  });

  test('field names are checked only when the schema fields are given', async () => {
    const env = { ...KINESIS, OutputBucket: 'my-bucket', OutputPartitionTemplate: 'x={nope}/' };
    const { config } = await load(env);
    assert.equal(s3Of(config).partitionTemplate, 'x={nope}/');
    await assert.rejects(loadConfig({ argv: [], env, fieldNames: ['a', 'b'] }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, [
        'OutputPartitionTemplate="x={nope}/" (from environment) does not compile: unknown field "nope" (the schema\'s fields: a, b) (at position 3)',
      ]);
      return true;
    });
  });
});

describe('other properties', () => {
  test('CheckpointTable must be a DynamoDB table name', async () => {
    assert.match(await onlyProblem({ ...KINESIS, ...DISCARD, CheckpointTable: 'a b' }), /^CheckpointTable: expected a DynamoDB table name.*, got "a b" \(from environment\)$/);
    assert.equal((await load({ ...KINESIS, ...DISCARD, CheckpointTable: 'etl-checkpoints' })).config.checkpointTable, 'etl-checkpoints');
  });

  test('the defaults build a full configuration', async () => {
    const { config, warnings } = await load({ ...KINESIS, ...DISCARD });
    assert.deepEqual(warnings, []);
    assert.equal(config.applicationName, 'streaming-etl');
    assert.equal(config.checkpointIntervalMs, 60000);
    assert.equal(config.eventSchema, 'TripEvent');
    assert.equal(config.statusIntervalMs, 10000);
    assert.equal(config.metricsNamespace, 'StreamingEtl');
    assert.equal(config.healthCheckPort, 0);
  });
});

describe('help text', () => {
  const help = processorHelp();

  test('lists every property, alias, kebab-case spelling, description and default', () => {
    for (const spec of PROPERTY_SPECS) {
      assert.ok(help.includes(`--${spec.name}`), spec.name);
      assert.ok(help.includes(spec.description), `${spec.name}: description`);
      if ('default' in spec) assert.ok(help.includes(`(default: ${spec.default})`), `${spec.name}: default`);
      for (const alias of spec.aliases ?? []) assert.ok(help.includes(`--${alias}`), alias);
    }
    assert.ok(help.includes('--input-stream-initial-position'));
  });

  test('lists the groups in catalogue order and the precedence', () => {
    const positions = [...new Set(PROPERTY_SPECS.map((spec) => spec.group))].map((group) => help.indexOf(`\n${group}:\n`));
    assert.ok(positions.every((position) => position > 0));
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
    assert.match(help, /--properties FILE[\s\S]*APPLICATION_PROPERTIES_JSON[\s\S]*environment variable named exactly[\s\S]*a flag:/);
    assert.match(help, /An empty value means unset/);
  });
});
