/**
 * `etl-local`: starts the embedded local services, creates a stream, bucket and table when asked,
 * prints one JSON line (the endpoints, the names, and an `env` object with exactly the variables
 * another process needs) and stays up until SIGINT/SIGTERM.
 */
import { UsageError } from '../common/errors.js';
import { helpText, parseFlags, runCli, type FlagSpec } from '../common/cli.js';
import { createLogger } from '../common/log.js';
import { startLocalServices } from './services.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'stream', placeholder: 'name', description: 'Create a Kinesis stream with this name.' },
  { name: 'shards', placeholder: 'n', description: 'Shard count of the stream.', default: '1' },
  { name: 'bucket', placeholder: 'name', description: 'Create an S3 bucket with this name.' },
  { name: 'table', placeholder: 'name', description: 'Create a DynamoDB checkpoint table with this name.' },
  { name: 'kinesis-port', placeholder: 'port', description: 'Kinesis port (0: a free port).', default: '0' },
  { name: 's3-port', placeholder: 'port', description: 'S3 port (0: a free port).', default: '0' },
  { name: 'dynamodb-port', placeholder: 'port', description: 'DynamoDB port (0: a free port).', default: '0' },
  { name: 's3-directory', placeholder: 'dir', description: 'Where S3 objects are stored (default: a temporary directory, removed on exit).' },
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
        'Usage: etl-local [--stream NAME --shards N] [--bucket NAME] [--table NAME] [ports]',
        'Starts Kinesis (kinesalite), S3 (s3rver) and DynamoDB (moto) on 127.0.0.1, prints one JSON line\nwith the endpoints and the environment another process needs, and runs until SIGINT/SIGTERM.',
        FLAGS,
        'Example:\n  eval "$(etl-local --stream trips --bucket out | jq -r \'.env | to_entries[] | "export \\(.key)=\\(.value)"\')"',
      ),
    );
    return 0;
  }
  const shardsRaw = flags.get('shards') ?? '1';
  const shards = Number(shardsRaw);
  if (!Number.isInteger(shards) || shards < 1 || shards > 1000) throw new UsageError(`--shards must be an integer 1-1000, got "${shardsRaw}"`);
  if (flags.has('shards') && !flags.has('stream')) throw new UsageError('--shards needs --stream');
  const stream = flags.get('stream');
  const bucket = flags.get('bucket');
  const table = flags.get('table');
  const log = createLogger('etl-local');
  const s3Directory = flags.get('s3-directory');
  const services = await startLocalServices({
    kinesisPort: port(flags, 'kinesis-port'),
    s3Port: port(flags, 's3-port'),
    dynamodbPort: port(flags, 'dynamodb-port'),
    ...(s3Directory ? { s3Directory } : {}),
    streams: stream ? [{ name: stream, shards }] : [],
    buckets: bucket ? [bucket] : [],
    tables: table ? [table] : [],
  });
  process.stdout.write(
    `${JSON.stringify({
      endpoints: services.endpoints,
      ...(stream ? { stream, shards } : {}),
      ...(bucket ? { bucket } : {}),
      ...(table ? { table } : {}),
      s3Directory: services.s3Directory,
      env: services.env,
    })}\n`,
  );
  log.info('local services up', { ...services.endpoints });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  log.info('stopping local services');
  await services.stop();
  return 0;
}

runCli('etl-local', main);
