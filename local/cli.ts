/**
 * `etl-local`: starts the embedded local services, creates a stream and bucket when asked and a
 * checkpoint table (always: `--table`, default `etl-checkpoints`), prints one JSON line (the
 * endpoints, the names, and an `env` object with exactly the variables another process needs,
 * `CheckpointTable` included), optionally writes that env to `--env-out`, and stays up until
 * SIGINT/SIGTERM. Names are validated before anything starts.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { UsageError } from '../common/errors.js';
import { bucketNameProblem } from '../common/s3/location.js';
import { helpText, parseFlags, runCli, type FlagSpec } from '../common/cli.js';
import { createLogger } from '../common/log.js';
import { startLocalServices } from './services.js';
import { startKafka, type LocalKafka } from './kafka.js';
import { startOpenSearch, type LocalOpenSearch } from './opensearch.js';

/** The checkpoint table created when `--table` is not given. */
const DEFAULT_TABLE = 'etl-checkpoints';
const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

const FLAGS: readonly FlagSpec[] = [
  { name: 'stream', placeholder: 'name', description: 'Create a Kinesis stream with this name.' },
  { name: 'shards', placeholder: 'n', description: 'Shard count of the stream.', default: '1' },
  { name: 'bucket', placeholder: 'name', description: 'Create an S3 bucket with this name.' },
  { name: 'table', placeholder: 'name', description: 'Create the DynamoDB checkpoint (lease) table with this name; its name is CheckpointTable in env.', default: DEFAULT_TABLE },
  // Not `--env-file`: Node 20 takes `--env-file` anywhere on the command line as its own option.
  { name: 'env-out', placeholder: 'file', description: 'Also write env to this file (KEY=value lines, for `set -a; . FILE`) once the services are up; removed on exit.' },
  { name: 'kinesis-port', placeholder: 'port', description: 'Kinesis port (0: a free port).', default: '0' },
  { name: 's3-port', placeholder: 'port', description: 'S3 port (0: a free port).', default: '0' },
  { name: 'dynamodb-port', placeholder: 'port', description: 'DynamoDB port (0: a free port).', default: '0' },
  { name: 's3-directory', placeholder: 'dir', description: 'Where S3 objects are stored (default: a temporary directory, removed on exit).' },
  { name: 'kafka', boolean: true, description: 'Also start an Apache Kafka broker (needs Java and Maven; first run downloads ~56 MB).' },
  { name: 'topic', placeholder: 'name', description: 'Create a Kafka topic with this name (with --kafka).' },
  { name: 'partitions', placeholder: 'n', description: 'Partition count of the topic.', default: '1' },
  { name: 'opensearch', boolean: true, description: 'Also start an OpenSearch node (needs Java and Maven; first run downloads ~56 MB).' },
  { name: 'help', boolean: true, description: 'Print this help.' },
];

function port(flags: Map<string, string>, name: string): number {
  const raw = flags.get(name) ?? '0';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new UsageError(`--${name} must be a port number 0-65535, got "${raw}"`);
  return value;
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  if (flags.has('help')) {
    process.stdout.write(
      helpText(
        'Usage: etl-local [--stream NAME --shards N] [--bucket NAME] [--table NAME] [--kafka [--topic NAME --partitions N]] [--opensearch] [ports]',
        'Starts Kinesis (kinesalite), S3 (s3rver) and DynamoDB (moto) on 127.0.0.1, and with --kafka and\n--opensearch a real Kafka broker and OpenSearch node, prints one JSON line with the endpoints and the\nenvironment another process needs, and runs until SIGINT/SIGTERM.',
        FLAGS,
        [
          'Example (etl-local keeps running; its env file appears once the services are up):',
          '  npx etl-local --stream trips --bucket out --env-out local.env &',
          '  until [ -s local.env ]; do sleep 1; done; set -a; . ./local.env; set +a',
          '  npx etl-processor --InputKinesisStream trips --OutputBucket out   # CheckpointTable comes from local.env',
          '',
          'Default AWS SDK v3 clients (Kinesis over HTTP/2 or HTTP/1.1, S3, DynamoDB) and the AWS CLI',
          'work with env alone. Kinesis has no SubscribeToShard (kinesalite lacks it).',
        ].join('\n'),
      ),
    );
    return 0;
  }
  const shardsRaw = flags.get('shards') ?? '1';
  const shards = Number(shardsRaw);
  if (!Number.isInteger(shards) || shards < 1 || shards > 1000) throw new UsageError(`--shards must be an integer 1-1000, got "${shardsRaw}"`);
  if (flags.has('shards') && !flags.has('stream')) throw new UsageError('--shards needs --stream');
  const partitionsRaw = flags.get('partitions') ?? '1';
  const partitions = Number(partitionsRaw);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000) throw new UsageError(`--partitions must be an integer 1-1000, got "${partitionsRaw}"`);
  const withKafka = flags.get('kafka') === 'true';
  const withOpenSearch = flags.get('opensearch') === 'true';
  const topic = flags.get('topic');
  if (topic !== undefined && !withKafka) throw new UsageError('--topic needs --kafka');
  if (flags.has('partitions') && topic === undefined) throw new UsageError('--partitions needs --topic');
  const stream = flags.get('stream');
  const bucket = flags.get('bucket');
  const table = flags.get('table') ?? DEFAULT_TABLE;
  if (stream !== undefined && !STREAM_NAME.test(stream)) throw new UsageError(`--stream must be a Kinesis stream name (1 to 128 letters, digits, "_", "-" or "."), got "${stream}"`);
  const bucketProblem = bucket === undefined ? undefined : bucketNameProblem(bucket);
  if (bucketProblem) throw new UsageError(`--bucket ${bucketProblem}, got "${bucket}"`);
  if (!TABLE_NAME.test(table)) throw new UsageError(`--table must be a DynamoDB table name (3 to 255 letters, digits, "_", "-" or "."), got "${table}"`);
  const envFile = flags.get('env-out');
  if (envFile === '') throw new UsageError('--env-out needs a file name, got ""');
  const log = createLogger('etl-local');
  const s3Directory = flags.get('s3-directory');
  const services = await startLocalServices({
    kinesisPort: port(flags, 'kinesis-port'),
    s3Port: port(flags, 's3-port'),
    dynamodbPort: port(flags, 'dynamodb-port'),
    ...(s3Directory ? { s3Directory } : {}),
    streams: stream ? [{ name: stream, shards }] : [],
    buckets: bucket ? [bucket] : [],
    tables: [table],
    log,
  });
  let kafka: LocalKafka | undefined;
  let opensearch: LocalOpenSearch | undefined;
  try {
    // One after the other: on two cores, two JVMs starting at once slow each other down.
    if (withKafka) {
      kafka = await startKafka({ log: log.child('kafka') });
      if (topic !== undefined) await kafka.createTopic(topic, partitions);
    }
    if (withOpenSearch) opensearch = await startOpenSearch({ log: log.child('opensearch') });
  } catch (error) {
    await kafka?.stop();
    await services.stop();
    throw error;
  }
  const env = { ...services.env, CheckpointTable: table };
  if (envFile !== undefined) {
    // Written whole, then renamed into place: a reader never sees half a file.
    await writeFile(`${envFile}.tmp`, Object.entries(env).map(([key, value]) => `${key}=${value}\n`).join(''));
    await rename(`${envFile}.tmp`, envFile);
  }
  process.stdout.write(
    `${JSON.stringify({
      endpoints: services.endpoints,
      ...(stream ? { stream, shards } : {}),
      ...(bucket ? { bucket } : {}),
      table,
      s3Directory: services.s3Directory,
      ...(kafka ? { kafkaBootstrapServers: kafka.bootstrapServers } : {}),
      ...(topic !== undefined ? { topic, partitions } : {}),
      ...(opensearch ? { opensearchEndpoint: opensearch.endpoint } : {}),
      env,
    })}\n`,
  );
  log.info('local services up', { ...services.endpoints, kafka: kafka?.bootstrapServers, opensearch: opensearch?.endpoint });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  log.info('stopping local services');
  if (envFile !== undefined) await rm(envFile, { force: true });
  await Promise.all([services.stop(), kafka?.stop(), opensearch?.stop()]);
  return 0;
}

runCli('etl-local', main);
