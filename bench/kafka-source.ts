/**
 * Benchmark of the Kafka source against the Kinesis source: the same TripEvents read and decoded
 * by the processor into the Discard sink, once from a local Kinesis stream (kinesalite, in an
 * etl-local child process) and once from a topic of the real local Kafka broker (a JVM), reported
 * as events per CPU-second of the processor's process and as the ratio Kafka / Kinesis (measured
 * in the same run). The servers' CPU is not counted.
 *
 * Run: `npx tsx bench/kafka-source.ts [--events 50000] [--partitions 2]`, or via `npm run bench`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { baseClientConfig } from '../common/aws.js';
import { createKafkaClient } from '../common/kafka/client.js';
import { PutRecordsWriter } from '../common/kinesis/index.js';
import { createLogger } from '../common/log.js';
import { startKafka } from '../local/kafka.js';
import { loadConfig } from '../processor/config/index.js';
import { startProcessor } from '../processor/processor.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag } from './args.js';
import { startLocal } from './pipeline.js';
import { cpuSeconds } from './measure.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));

/** The results of {@link runKafkaSourceBench}. */
export interface KafkaSourceBenchResult {
  readonly events: number;
  readonly kinesisEventsPerCpuSecond: number;
  readonly kafkaEventsPerCpuSecond: number;
  readonly ratio: number;
}

/** Reads `count` events with the processor configured by `argv` (Discard sink); returns events per CPU-second. */
async function measure(argv: readonly string[], count: number): Promise<{ perCpuSecond: number; cpu: number; wall: number }> {
  const loaded = await loadConfig({ argv: [...argv, '--OutputDiscarding', 'true', '--CheckpointInterval', '10000', '--StatusInterval', '600000'], env: {} });
  if (loaded.help) throw new Error('unreachable');
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const processor = await startProcessor(loaded.config, { log: createLogger('processor', { level: 'warn' }) });
  while (processor.stats().eventsIn < count) await new Promise((r) => setTimeout(r, 20));
  await processor.stop();
  const used = cpuSeconds(cpu);
  return { perCpuSecond: count / used, cpu: used, wall: (performance.now() - wall) / 1000 };
}

/** Runs the benchmark and prints its lines. */
export async function runKafkaSourceBench(options: { events?: number; partitions?: number; log?: (line: string) => void } = {}): Promise<KafkaSourceBenchResult> {
  const count = options.events ?? 50_000;
  const partitions = options.partitions ?? 2;
  const log = options.log ?? ((line: string) => console.log(line));
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count);
  const encoder = new TextEncoder();
  const records = texts.map((t) => encoder.encode(t));
  log(`Kafka source bench: ${count} TripEvents, ${partitions} shards / partitions, Discard sink, servers in other processes`);

  const local = await startLocal('bench-kafka-kinesis', partitions, 'bench-kafka-unused', 'bench-kafka-unused-table');
  let kinesis: { perCpuSecond: number; cpu: number; wall: number };
  try {
    Object.assign(process.env, local.env);
    const client = new KinesisClient(baseClientConfig());
    const writer = new PutRecordsWriter({ client, stream: 'bench-kafka-kinesis', maxInFlight: 8 });
    for (let i = 0; i < records.length; i += 500) await writer.write(records.slice(i, i + 500).map((data, j) => ({ data, partitionKey: String(i + j) })));
    await writer.close();
    client.destroy();
    kinesis = await measure(['--InputKinesisStream', 'bench-kafka-kinesis', '--InputStreamInitalPosition', 'TRIM_HORIZON'], count);
  } finally {
    await local.stop();
  }

  const broker = await startKafka({ log: createLogger('local.kafka', { level: 'warn' }) });
  let kafka: { perCpuSecond: number; cpu: number; wall: number };
  try {
    await broker.createTopic('bench-trips', partitions);
    const client = createKafkaClient({ brokers: broker.brokers, clientId: 'bench', log: createLogger('bench.kafkajs', { level: 'warn' }) });
    const producer = client.producer();
    await producer.connect();
    for (let i = 0; i < texts.length; i += 1000) {
      await producer.send({ topic: 'bench-trips', messages: texts.slice(i, i + 1000).map((value, j) => ({ key: String(i + j), value })) });
    }
    await producer.disconnect();
    kafka = await measure(['--InputKafkaBootstrapServers', broker.bootstrapServers, '--InputKafkaTopic', 'bench-trips', '--InputKafkaStartingPosition', 'EARLIEST'], count);
  } finally {
    await broker.stop();
  }

  const result: KafkaSourceBenchResult = {
    events: count,
    kinesisEventsPerCpuSecond: Math.round(kinesis.perCpuSecond),
    kafkaEventsPerCpuSecond: Math.round(kafka.perCpuSecond),
    ratio: kafka.perCpuSecond / kinesis.perCpuSecond,
  };
  log('');
  log('  source -> decode -> Discard                   events/CPU-s   ratio to Kinesis');
  log(`  baseline: Kinesis source (kinesalite)         ${String(result.kinesisEventsPerCpuSecond).padStart(12)}   1.000`);
  log(`  Kafka source (local broker, kafkajs)          ${String(result.kafkaEventsPerCpuSecond).padStart(12)}   ${result.ratio.toFixed(3)}`);
  log(`  CPU / wall: Kinesis ${kinesis.cpu.toFixed(2)} s / ${kinesis.wall.toFixed(2)} s, Kafka ${kafka.cpu.toFixed(2)} s / ${kafka.wall.toFixed(2)} s (wall includes the session join and waits on the servers)`);
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const events = numberFlag('--events');
  const partitions = numberFlag('--partitions');
  await runKafkaSourceBench({ ...(events ? { events } : {}), ...(partitions ? { partitions } : {}) });
}
