/**
 * Helpers for the Kafka pipeline tests: generated TripEvents put on a topic (keyed by trip id) with
 * the ids acknowledged, the processor CLI environment for a Kafka source, whether every partition's
 * lease checkpoint reached the topic's end, and a read_committed consumer that reads a topic back.
 */
import type { Kafka, Producer as KafkajsProducer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { LeaseRow } from './scale-out.js';
import { tripEvent } from './scale-out.js';
import { uniqueName } from './local.js';
import { ISOLATION, internalCluster } from '../../processor/sinks/kafka/transactions.js';

/** Puts TripEvents on a topic and remembers the ids Kafka acknowledged. */
export class TopicProducer {
  readonly #producer: KafkajsProducer;
  readonly #topic: string;
  readonly ids: number[] = [];

  constructor(kafka: Kafka, topic: string) {
    this.#producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    this.#topic = topic;
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
  }

  /** Sends the events with these trip ids (key: the trip id). */
  async put(ids: readonly number[]): Promise<void> {
    await this.#producer.send({ topic: this.#topic, acks: -1, messages: ids.map((id) => ({ key: String(id), value: tripEvent(id) })) });
    this.ids.push(...ids);
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}

/** The environment of a processor CLI reading `topic` from its start into `bucket`, with quick leases and checkpoints. */
export function kafkaWorkerEnv(
  servicesEnv: Readonly<Record<string, string>>,
  resources: { bootstrapServers: string; topic: string; bucket?: string; table: string; application: string },
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...servicesEnv,
    InputKafkaBootstrapServers: resources.bootstrapServers,
    InputKafkaTopic: resources.topic,
    InputKafkaStartingPosition: 'EARLIEST',
    ...(resources.bucket ? { OutputBucket: resources.bucket } : {}),
    CheckpointTable: resources.table,
    ApplicationName: resources.application,
    CheckpointInterval: '1000',
    LeaseDuration: '6000',
    StatusInterval: '500',
    OutputInactivityInterval: '1000',
    ...extra,
  };
}

/** The end offset (high watermark) of each partition of a topic, keyed `<topic>/<partition>`. */
export async function topicEnds(kafka: Kafka, topic: string): Promise<Map<string, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [`${topic}/${o.partition}`, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Whether every partition's checkpoint is at or after its end offset. */
export function kafkaCaughtUp(leases: readonly LeaseRow[], ends: ReadonlyMap<string, bigint>): boolean {
  const byPartition = new Map(leases.map((l) => [l.shard, l.checkpoint]));
  for (const [partition, end] of ends) {
    if (end === 0n) continue;
    const checkpoint = byPartition.get(partition);
    if (checkpoint === undefined || !/^\d+$/.test(checkpoint) || BigInt(checkpoint) < end) return false;
  }
  return true;
}

/**
 * Reads a whole topic with a read_committed consumer of a fresh group up to its current end offsets
 * (its last stable offsets: the ends of the committed and aborted transactions);
 * returns the trip ids of every record (duplicates kept), checking each key is its trip id.
 */
export async function readTopicIds(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<number[]> {
  const ends = await topicEnds(kafka, topic);
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false });
  const ids: number[] = [];
  const reached = new Map<string, bigint>();
  const done = (): boolean => [...ends].every(([partition, end]) => end === 0n || (reached.get(partition) ?? -1n) + 1n >= end);
  // Batches of only control records or aborted transactions reach no eachBatch; their end does.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const partition = `${topic}/${payload.partition}`;
    const last = BigInt(payload.lastOffset);
    if (last > (reached.get(partition) ?? -1n)) reached.set(partition, last);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const message of batch.messages) {
          const event = JSON.parse(message.value!.toString()) as { trip_id: number };
          if (message.key?.toString() !== String(event.trip_id)) throw new Error(`record key ${message.key?.toString()} is not the trip id ${event.trip_id}`);
          ids.push(event.trip_id);
          resolveOffset(message.offset);
        }
        const partition = `${topic}/${batch.partition}`;
        const last = BigInt(batch.lastOffset());
        if (last > (reached.get(partition) ?? -1n)) reached.set(partition, last);
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out reading ${topic} to its end offsets`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return ids;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Each partition's high watermark and last stable offset (ListOffsets with read_uncommitted and
 * read_committed), keyed `<topic>/<partition>`: they differ while a transaction is open there.
 */
export async function stableOffsets(kafka: Kafka, topic: string): Promise<Map<string, { high: bigint; stable: bigint }>> {
  const at = async (isolationLevel: number): Promise<Map<string, bigint>> => {
    const { cluster } = internalCluster(kafka, { isolationLevel });
    await cluster.connect();
    try {
      await cluster.addTargetTopic(topic);
      const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
      const [offsets] = await cluster.fetchTopicsOffset([{ topic, partitions, fromBeginning: false }]);
      return new Map((offsets?.partitions ?? []).map((p) => [`${topic}/${p.partition}`, BigInt(p.offset)]));
    } finally {
      await cluster.disconnect();
    }
  };
  const high = await at(ISOLATION.READ_UNCOMMITTED);
  const stable = await at(ISOLATION.READ_COMMITTED);
  return new Map([...high].map(([partition, h]) => [partition, { high: h, stable: stable.get(partition) ?? -1n }]));
}

/** The partitions whose last stable offset is behind their high watermark (a transaction is open there). */
export async function openTransactionPartitions(kafka: Kafka, topic: string): Promise<string[]> {
  return [...(await stableOffsets(kafka, topic))].filter(([, o]) => o.stable < o.high).map(([p, o]) => `${p} (stable ${o.stable}, high ${o.high})`);
}

/** How often each id was read. */
export function idCounts(ids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const id of ids) out.set(id, (out.get(id) ?? 0) + 1);
  return out;
}
