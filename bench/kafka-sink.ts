/**
 * Benchmark of the Kafka sink, EXACTLY_ONCE against AT_LEAST_ONCE: the same decoded TripEvents
 * written by the sink on its own to a topic of the real local Kafka broker (a JVM), with a
 * pre-commit and commit every `--checkpoint-events` events as the checkpoint would do, reported as
 * events per second (wall) and per CPU-second of this process, and as the ratio exactly-once /
 * at-least-once measured in the same run (the modes alternate, best of `--rounds` each). The
 * broker's CPU is not counted.
 *
 * Run: `npx tsx bench/kafka-sink.ts [--events 100000] [--checkpoint-events 20000] [--partitions 3] [--rounds 2]`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createKafkaClient } from '../common/kafka/client.js';
import { createLogger } from '../common/log.js';
import { startKafka } from '../local/kafka.js';
import type { KafkaDeliveryGuarantee, KafkaSinkConfig } from '../processor/config/types.js';
import { createDecoder, loadSchema } from '../processor/formats/index.js';
import type { SinkRecord } from '../processor/lifecycle.js';
import { KafkaSink } from '../processor/sinks/kafka/kafka-sink.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag } from './args.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));

/** One mode's best round. */
export interface KafkaSinkBenchMode {
  readonly eventsPerSecond: number;
  readonly eventsPerCpuSecond: number;
}

/** The results of {@link runKafkaSinkBench}. */
export interface KafkaSinkBenchResult {
  readonly events: number;
  readonly exactlyOnce: KafkaSinkBenchMode;
  readonly atLeastOnce: KafkaSinkBenchMode;
  /** exactly-once / at-least-once, events per second. */
  readonly ratio: number;
}

/** Runs the benchmark and prints its lines. */
export async function runKafkaSinkBench(options: { events?: number; checkpointEvents?: number; partitions?: number; rounds?: number; log?: (line: string) => void } = {}): Promise<KafkaSinkBenchResult> {
  const count = options.events ?? 100_000;
  const perCheckpoint = options.checkpointEvents ?? 20_000;
  const partitions = options.partitions ?? 3;
  const rounds = options.rounds ?? 2;
  const log = options.log ?? ((line: string) => console.log(line));
  const quiet = createLogger('bench.kafka-sink', { level: 'warn' });
  const schema = await loadSchema('TripEvent');
  const decode = createDecoder(schema);
  const records: SinkRecord[] = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count).map((text, i) => {
    const raw = Buffer.from(text);
    const decoded = decode(raw);
    if (!decoded.ok) throw new Error(`sample event ${i} does not decode: ${decoded.reason}`);
    return { event: decoded.event, raw, origin: { source: 'bench', stream: 'bench', shard: '0', position: String(i) } };
  });
  log(`Kafka sink bench: ${count} TripEvents, a checkpoint every ${perCheckpoint}, ${partitions} partitions, lz4, broker in another process`);
  const broker = await startKafka({ log: quiet });
  try {
    const kafka = createKafkaClient({ brokers: broker.brokers, clientId: 'bench-kafka-sink', log: quiet });
    const best: Record<KafkaDeliveryGuarantee, KafkaSinkBenchMode> = { EXACTLY_ONCE: { eventsPerSecond: 0, eventsPerCpuSecond: 0 }, AT_LEAST_ONCE: { eventsPerSecond: 0, eventsPerCpuSecond: 0 } };
    for (let round = 1; round <= rounds; round += 1) {
      for (const mode of ['AT_LEAST_ONCE', 'EXACTLY_ONCE'] as const) {
        const topic = `bench-${mode.toLowerCase()}-${round}`;
        await broker.createTopic(topic, partitions);
        const config: KafkaSinkConfig = { kind: 'kafka', bootstrapServers: broker.brokers, topic, compression: 'lz4', security: { protocol: 'PLAINTEXT' }, deliveryGuarantee: mode, transactionalIdPrefix: `bench-${round}`, transactionTimeoutMs: 900_000 };
        const sink = new KafkaSink({ config, schema, log: quiet, kafka });
        await sink.start({ runId: `${mode}-${round}`, log: quiet, reject: () => undefined });
        const cpu = process.cpuUsage();
        const started = performance.now();
        let checkpointId = 0;
        for (let from = 0; from < count; from += perCheckpoint) {
          const slice = records.slice(from, Math.min(count, from + perCheckpoint));
          for (let i = 0; i < slice.length; i += 500) await sink.write(slice.slice(i, i + 500));
          checkpointId += 1;
          const pending = await sink.preCommit();
          if (pending) await sink.commit(pending, checkpointId, false);
        }
        const wall = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        await sink.close();
        const result = { eventsPerSecond: count / wall, eventsPerCpuSecond: count / ((used.user + used.system) / 1e6) };
        log(`  round ${round} ${mode.padEnd(13)} ${Math.round(result.eventsPerSecond).toLocaleString('en-US').padStart(9)} events/s, ${Math.round(result.eventsPerCpuSecond).toLocaleString('en-US').padStart(9)} events/CPU-s (${wall.toFixed(2)} s)`);
        if (result.eventsPerSecond > best[mode].eventsPerSecond) best[mode] = result;
      }
    }
    const ratio = best.EXACTLY_ONCE.eventsPerSecond / best.AT_LEAST_ONCE.eventsPerSecond;
    log(`  best: exactly-once ${Math.round(best.EXACTLY_ONCE.eventsPerSecond).toLocaleString('en-US')} events/s, at-least-once ${Math.round(best.AT_LEAST_ONCE.eventsPerSecond).toLocaleString('en-US')} events/s, ratio ${ratio.toFixed(2)}`);
    return { events: count, exactlyOnce: best.EXACTLY_ONCE, atLeastOnce: best.AT_LEAST_ONCE, ratio };
  } finally {
    await broker.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runKafkaSinkBench({ events: numberFlag('--events'), checkpointEvents: numberFlag('--checkpoint-events'), partitions: numberFlag('--partitions'), rounds: numberFlag('--rounds') });
}
