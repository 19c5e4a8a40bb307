/**
 * `npm start`: the whole pipeline end to end on embedded local services. Starts Kinesis, S3 and
 * DynamoDB in-process, runs the processor (Kinesis -> partitioned Parquet on S3, checkpoints in
 * DynamoDB), replays the bundled real NYC taxi sample at a high speed-up, waits until every event
 * has been committed, stops the processor (final checkpoint), copies the committed objects to
 * ./output/ and prints a summary.
 *
 * With `--source kafka` the stream is a topic of a real local Kafka broker (local/kafka.ts, needs
 * Java and Maven or the cached jars): the replay writes to it and the processor reads it through
 * its consumer group.
 *
 * Flags: --source kinesis|kafka (default kinesis), --speedup N (default 2000000), --shards N
 * (shards or partitions, default 4), --output DIR (default ./output), --opensearch (also start a
 * real local OpenSearch node and write to it as an extra sink; prints the documents per index),
 * --json (the summary as JSON on stdout).
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../common/aws.js';
import { helpText, parseFlags, runCli, type FlagSpec } from '../common/cli.js';
import { UsageError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { startOpenSearch, type LocalOpenSearch } from '../local/opensearch.js';
import { startKafka, type LocalKafka } from '../local/kafka.js';
import { startLocalServices } from '../local/services.js';
import { loadConfig } from '../processor/config/index.js';
import { startProcessor } from '../processor/processor.js';
import { replay } from '../replay/replay.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLE = join(ROOT, 'data/nyc-tlc/yellow_tripdata_2018-01_sample.csv');
const STREAM = 'taxi-trips';
const BUCKET = 'streaming-etl-output';
const TABLE = 'streaming-etl-checkpoints';

const FLAGS: readonly FlagSpec[] = [
  { name: 'source', placeholder: 'kinesis|kafka', description: 'Replay into a local Kinesis stream or a topic of a real local Kafka broker.', default: 'kinesis' },
  { name: 'speedup', placeholder: 'n', description: 'Replay speed-up over the events\' own time.', default: '2000000' },
  { name: 'shards', placeholder: 'n', description: 'Shards of the local stream (partitions of the topic).', default: '4' },
  { name: 'input', placeholder: 'path', description: 'What to replay.', default: 'data/nyc-tlc/yellow_tripdata_2018-01_sample.csv' },
  { name: 'output', placeholder: 'dir', description: 'Where the committed objects are copied.', default: './output' },
  { name: 'opensearch', boolean: true, description: 'Also start a local OpenSearch node (Java, Maven) and write every event to it as an extra sink.' },
  { name: 'json', boolean: true, description: 'Print the summary as one JSON line.' },
  { name: 'help', boolean: true, description: 'Print this help.' },
];

function positiveInt(flags: Map<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** A command that reads the output back with independent readers (pyarrow and DuckDB), if they are installed. */
function readBackHint(output: string): string {
  const venvPython = join(ROOT, '.cache/venv/bin/python');
  return existsSync(venvPython)
    ? `${venvPython} scripts/read-parquet.py ${output}`
    : `python3 -c "import pyarrow.dataset as d; print(d.dataset('${output}', partitioning='hive').to_table().num_rows)"  (needs pyarrow; npm test installs it in .cache/venv)`;
}

async function main(): Promise<number> {
  // The AWS SDK warns once, on Node < 22, that its releases from January 2027 need Node 22. The
  // demo runs on the Node the README allows (≥ 20.19), so that warning is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  if (flags.has('help')) {
    process.stdout.write(helpText('Usage: npm start -- [options]', 'Runs replay -> Kinesis (or Kafka) -> processor -> Parquet on S3 on local services.', FLAGS));
    return 0;
  }
  const source = flags.get('source') ?? 'kinesis';
  if (source !== 'kinesis' && source !== 'kafka') throw new UsageError(`--source must be kinesis or kafka, got "${source}"`);
  const speedup = positiveInt(flags, 'speedup', 2_000_000);
  const shards = positiveInt(flags, 'shards', 4);
  const input = resolve(flags.get('input') ?? SAMPLE);
  const outputDir = resolve(flags.get('output') ?? join(ROOT, 'output'));
  const log = createLogger('start');
  const started = performance.now();

  log.info('starting embedded Kinesis, S3 and DynamoDB');
  const services = await startLocalServices({ streams: source === 'kinesis' ? [{ name: STREAM, shards }] : [], buckets: [BUCKET], tables: [TABLE] });
  let kafka: LocalKafka | undefined;
  let openSearch: LocalOpenSearch | undefined;
  try {
    if (flags.has('opensearch')) {
      log.info('starting a local OpenSearch node');
      openSearch = await startOpenSearch({ log: createLogger('local.opensearch') });
    }
    Object.assign(process.env, services.env);
    if (source === 'kafka') {
      log.info('starting the local Kafka broker');
      kafka = await startKafka();
      await kafka.createTopic(STREAM, shards);
    }
    const sourceArgs = kafka
      ? ['--InputKafkaBootstrapServers', kafka.bootstrapServers, '--InputKafkaTopic', STREAM, '--InputKafkaStartingPosition', 'EARLIEST']
      : ['--InputKinesisStream', STREAM, '--InputStreamInitalPosition', 'TRIM_HORIZON'];
    const loaded = await loadConfig({
      argv: [
        ...sourceArgs,
        '--OutputBucket', BUCKET,
        '--CheckpointTable', TABLE,
        '--CheckpointInterval', '5000',
        '--StatusInterval', '2000',
        '--ApplicationName', 'streaming-etl-local',
        ...(openSearch ? ['--OutputElasticsearchEndpoint', openSearch.endpoint] : []),
      ],
      env: {},
    });
    if (loaded.help) return 0;
    const processor = await startProcessor(loaded.config, { log: createLogger('processor'), shardDiscoveryIntervalMs: 5000 });

    log.info('replaying', { input, speedup });
    // The processing rate counts from the first event read to the final commit.
    let firstReadAt: number | undefined;
    const watchFirstRead = setInterval(() => {
      if (firstReadAt === undefined && processor.stats().eventsIn > 0) firstReadAt = performance.now();
    }, 5);
    const destination = kafka ? { kafka: { bootstrapServers: kafka.brokers, topic: STREAM } } : { streamName: STREAM };
    const replayed = await replay({ input, ...destination, speedup, statisticsFrequencyMs: 1000, progress: false });
    const expected = replayed.eventsSent;

    log.info('waiting until the processor has read every event', { expected });
    const deadline = Date.now() + 60_000;
    while (processor.stats().eventsIn < expected) {
      if (Date.now() > deadline) throw new Error(`the processor read ${processor.stats().eventsIn} of ${expected} events in 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await processor.stop();
    clearInterval(watchFirstRead);
    const processingSeconds = (performance.now() - (firstReadAt ?? started)) / 1000;
    const stats = processor.stats();

    // Copy the committed objects out of the local S3 so they can be opened with any tool.
    const s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
    await rm(outputDir, { recursive: true, force: true });
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.NextContinuationToken;
    } while (token);
    for (const key of keys) {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToByteArray();
      const path = join(outputDir, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body ?? new Uint8Array());
    }
    s3.destroy();
    const dataPrefix = loaded.config.sinks.find((s) => s.kind === 's3');
    const prefix = dataPrefix?.kind === 's3' ? dataPrefix.prefix : '';
    const dataFiles = keys.filter((k) => k.startsWith(prefix) && k.endsWith('.parquet'));
    const partitions = new Set(dataFiles.map((k) => k.slice(0, k.lastIndexOf('/') + 1)));
    const documentsPerIndex = openSearch ? await countPerIndex(openSearch.endpoint) : undefined;
    const seconds = (performance.now() - started) / 1000;
    const summary = {
      eventsReplayed: replayed.eventsSent,
      invalidRowsInInput: replayed.invalidRows,
      eventsRead: stats.eventsIn,
      eventsWritten: stats.eventsOut.s3 ?? 0,
      eventsRejected: stats.eventsRejected,
      parquetFiles: dataFiles.length,
      partitions: partitions.size,
      checkpoints: stats.checkpoints,
      lastCheckpointSeconds: Number(((stats.lastCheckpoint?.durationMs ?? 0) / 1000).toFixed(2)),
      seconds: Number(seconds.toFixed(1)),
      processingSeconds: Number(processingSeconds.toFixed(2)),
      eventsPerSecond: Math.round(stats.eventsIn / processingSeconds),
      output: join(outputDir, prefix),
      ...(openSearch ? { openSearch: { endpoint: openSearch.endpoint, documentsWritten: stats.eventsOut.opensearch ?? 0, documentsPerIndex } } : {}),
    };
    if (flags.has('json')) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        [
          '',
          `streaming-etl: replay -> ${kafka ? 'Kafka' : 'Kinesis'} -> processor -> Parquet on S3 (local services)`,
          `  events replayed    ${summary.eventsReplayed}${summary.invalidRowsInInput ? ` (${summary.invalidRowsInInput} input rows invalid)` : ''}`,
          `  events read        ${summary.eventsRead}`,
          `  events written     ${summary.eventsWritten} (committed, exactly once)`,
          `  events rejected    ${summary.eventsRejected}${summary.eventsRejected ? ` (dead letters under ${join(outputDir, 'errors/')})` : ''}`,
          `  Parquet files      ${summary.parquetFiles} in ${summary.partitions} partitions`,
          `  checkpoints        ${summary.checkpoints} (the last, committing ${summary.parquetFiles} files, took ${summary.lastCheckpointSeconds} s)`,
          `  rate               ${summary.eventsPerSecond} events/s (${summary.processingSeconds} s from the first event read to the final commit)`,
          `  wall time          ${summary.seconds} s (start-up, replay, processing, final checkpoint)`,
          `  output             ${summary.output}`,
          ...(summary.openSearch
            ? [
                `  OpenSearch         ${summary.openSearch.documentsWritten} documents written (effectively once) to ${summary.openSearch.endpoint} (stopped at exit)`,
                ...Object.entries(summary.openSearch.documentsPerIndex ?? {}).map(([index, count]) => `    index ${index.padEnd(14)} ${count} documents`),
              ]
            : []),
          `  read it back       ${readBackHint(summary.output)}`,
          '',
        ].join('\n'),
      );
    }
    const openSearchComplete = !summary.openSearch || summary.openSearch.documentsWritten === summary.eventsReplayed - summary.eventsRejected;
    return summary.eventsWritten === summary.eventsReplayed - summary.eventsRejected && openSearchComplete ? 0 : 1;
  } finally {
    await openSearch?.stop();
    await kafka?.stop();
    await services.stop();
  }
}

/** Documents per index on the node (refreshed first), hidden and system indices left out. */
async function countPerIndex(endpoint: string): Promise<Record<string, number>> {
  await fetch(`${endpoint}/_refresh`, { method: 'POST' });
  const response = await fetch(`${endpoint}/_cat/indices?format=json&h=index,docs.count&expand_wildcards=open`);
  if (!response.ok) throw new Error(`GET _cat/indices: HTTP ${response.status}`);
  const rows = (await response.json()) as { index: string; 'docs.count': string }[];
  return Object.fromEntries(rows.filter((r) => !r.index.startsWith('.')).sort((a, b) => a.index.localeCompare(b.index)).map((r) => [r.index, Number(r['docs.count'])]));
}

runCli('npm start', main, { helpCommand: 'npm start -- --help' });
