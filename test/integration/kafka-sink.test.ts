/**
 * Kafka sink (issue 7, "Sink"): processor CLI processes write every valid event to a topic of the
 * real local broker, keyed by its trip id, the value the event JSON; a read_committed consumer reads
 * the topic back. Kafka → Kafka and Kinesis → Kafka. Without crashes every event arrives once; with
 * kill -9 cycles (at random moments and right after each checkpoint phase, including between
 * persist and commit) every event arrives at least once, and the duplicates are counted: with
 * `OutputKafkaDeliveryGuarantee=AT_LEAST_ONCE` the sink is at-least-once (README, "Guarantees").
 * The exactly-once default is proven in kafka-eos.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import { createKafkaClient } from '../../common/kafka/client.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import { startCliProcessor, tailLines, type CliProcessor } from '../support/cli-processor.js';
import { kafkaSkipReason, uniqueTopic, useKafka, waitForBroker } from '../support/kafka.js';
import { kafkaCaughtUp, kafkaWorkerEnv, idCounts, readTopicIds, topicEnds, TopicProducer } from '../support/kafka-pipeline.js';
import { createPipelineResources, startServicesForTest, uniqueName } from '../support/local.js';
import { caughtUp, Producer, readLeases, testClients, workerEnv } from '../support/scale-out.js';
import { KILL_PHASES } from '../support/soak.js';

const log = createLogger('test.kafka-sink', { level: 'warn' });

describe('Kafka sink, AT_LEAST_ONCE: key the trip id, value the event JSON, read back with read_committed', { skip: kafkaSkipReason() }, () => {
  const broker = useKafka();
  let services: LocalServices;
  let clients: ReturnType<typeof testClients>;
  let kafka: Kafka;
  const running: CliProcessor[] = [];

  before(async () => {
    services = await startServicesForTest({ s3: 'moto' });
    clients = testClients();
    kafka = createKafkaClient({ brokers: broker.get().brokers, clientId: 'kafka-sink-test', log });
  });
  after(async () => {
    for (const w of running) w.kill('SIGKILL');
    await Promise.all(running.map((w) => w.exited));
    clients?.destroy();
    await services?.stop();
  });

  function start(env: Record<string, string>): CliProcessor {
    const worker = startCliProcessor(env);
    running.push(worker);
    return worker;
  }

  async function stopAll(workers: readonly CliProcessor[]): Promise<void> {
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) {
      const exit = await w.exited;
      assert.equal(exit.code, 0, `a worker stopped with SIGTERM exits 0:\n${tailLines(exit.lines)}`);
    }
  }

  async function kafkaToKafka(partitions: number): Promise<{ input: string; output: string; table: string; application: string; producer: TopicProducer; env: (extra?: Record<string, string>) => Record<string, string> }> {
    const r = { input: uniqueTopic('in'), output: uniqueTopic('out'), table: uniqueName('ckpt'), application: uniqueName('app') };
    await broker.get().createTopic(r.input, partitions);
    await broker.get().createTopic(r.output, 3);
    await services.createTable(r.table);
    const producer = new TopicProducer(kafka, r.input);
    await producer.connect();
    const bootstrapServers = broker.get().bootstrapServers;
    return {
      ...r,
      producer,
      env: (extra = {}) =>
        kafkaWorkerEnv(services.env, { bootstrapServers, topic: r.input, table: r.table, application: r.application }, { OutputKafkaTopic: r.output, OutputKafkaBootstrapServers: bootstrapServers, OutputKafkaCompression: 'lz4', OutputKafkaDeliveryGuarantee: 'AT_LEAST_ONCE', ...extra }),
    };
  }

  async function drainKafka(r: { input: string; table: string; application: string }, workers: readonly CliProcessor[]): Promise<void> {
    const ends = await topicEnds(kafka, r.input);
    await waitForBroker('every input partition checkpointed at its end', async () => {
      for (const w of workers) if (w.hasExited()) throw new Error(`a worker exited early:\n${tailLines(w.lines)}`);
      return kafkaCaughtUp(await readLeases(clients.dynamo, r.table, r.application), ends);
    });
  }

  test('Kafka → Kafka without crashes: every event once, keyed by its trip id, lz4 batches', async () => {
    const r = await kafkaToKafka(3);
    const ids = Array.from({ length: 500 }, (_, i) => i);
    await r.producer.put(ids);
    const worker = start(r.env());
    await drainKafka(r, [worker]);
    await stopAll([worker]);
    const read = await readTopicIds(kafka, r.output);
    assert.equal(read.length, ids.length, 'one record per event');
    assert.deepEqual([...new Set(read)].sort((a, b) => a - b), ids);
    await r.producer.disconnect();
  });

  test('Kafka → Kafka with kill -9 cycles, including right after persist: every event at least once (duplicates counted)', async () => {
    const r = await kafkaToKafka(4);
    let next = 0;
    let producing = true;
    const loop = (async () => {
      while (producing) {
        await r.producer.put(Array.from({ length: 20 }, (_, i) => next + i));
        next += 20;
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const slots: { worker: CliProcessor; armed: boolean }[] = [
      { worker: start(r.env()), armed: false },
      { worker: start(r.env()), armed: false },
    ];
    let kills = 0;
    let restarts = 0;
    try {
      while (kills < 10) {
        await new Promise((res) => setTimeout(res, 2000 + (restarts % 3) * 700));
        for (let i = 0; i < slots.length; i += 1) {
          const slot = slots[i]!;
          if (!slot.worker.hasExited()) continue;
          const exit = await slot.worker.exited;
          assert.equal(exit.signal, 'SIGKILL', `a worker only ends by a kill here:\n${tailLines(exit.lines)}`);
          if (slot.armed) kills += 1;
          const armed = restarts % 2 === 1;
          const hook = `${KILL_PHASES[Math.floor(restarts / 2) % KILL_PHASES.length]}:2`;
          restarts += 1;
          slots[i] = { worker: start(armed ? r.env({ ETL_FAULT_KILL_AFTER_PHASE: hook }) : r.env()), armed };
        }
        const victim = slots.find((s) => !s.armed && !s.worker.hasExited() && Number(s.worker.status()?.checkpoints ?? 0) >= 1);
        if (!victim) continue;
        victim.worker.kill('SIGKILL');
        kills += 1;
      }
      for (let i = 0; i < slots.length; i += 1) {
        slots[i]!.worker.kill('SIGKILL');
        await slots[i]!.worker.exited;
        slots[i] = { worker: start(r.env()), armed: false };
      }
      producing = false;
      await loop;
      await drainKafka(r, slots.map((s) => s.worker));
      await stopAll(slots.map((s) => s.worker));
    } finally {
      producing = false;
      await loop.catch(() => undefined);
    }
    const read = idCounts(await readTopicIds(kafka, r.output));
    const missing = r.producer.ids.filter((id) => !read.has(id));
    const duplicated = [...read.values()].filter((n) => n > 1).length;
    log.warn('Kafka → Kafka after kill -9 cycles', { kills, events: r.producer.ids.length, duplicated });
    assert.ok(kills >= 10, `at least 10 kills (${kills})`);
    assert.deepEqual(missing, [], 'no event lost');
    assert.deepEqual([...read.keys()].filter((id) => !r.producer.ids.includes(id)), [], 'nothing that was not put');
    await r.producer.disconnect();
  });

  test('Kinesis → Kafka: every event once without crashes; after kill -9 of a worker, every event at least once', async () => {
    const resources = { ...(await createPipelineResources(services, 2)), application: uniqueName('app') };
    const output = uniqueTopic('out');
    await broker.get().createTopic(output, 2);
    const env = workerEnv(services.env, resources, { OutputKafkaTopic: output, OutputKafkaBootstrapServers: broker.get().bootstrapServers, OutputKafkaDeliveryGuarantee: 'AT_LEAST_ONCE' });
    const producer = new Producer(clients.kinesis, resources.stream);
    await producer.put(Array.from({ length: 300 }, (_, i) => i));
    const first = start(env);
    await waitForBroker('the first 300 checkpointed', async () => caughtUp(await readLeases(clients.dynamo, resources.table, resources.application), producer.lastSequence));
    await stopAll([first]);
    const once = await readTopicIds(kafka, output);
    assert.equal(once.length, 300, 'one record per event without crashes');
    assert.deepEqual([...new Set(once)].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));

    const victim = start(env);
    await producer.put(Array.from({ length: 300 }, (_, i) => 300 + i));
    await waitForBroker('the victim checkpointed', async () => Number(victim.status()?.checkpoints ?? 0) >= 1);
    victim.kill('SIGKILL');
    await victim.exited;
    await producer.put(Array.from({ length: 100 }, (_, i) => 600 + i));
    const survivor = start(env);
    await waitForBroker('everything checkpointed', async () => caughtUp(await readLeases(clients.dynamo, resources.table, resources.application), producer.lastSequence));
    await stopAll([survivor]);
    const read = idCounts(await readTopicIds(kafka, output));
    assert.deepEqual(producer.ids.filter((id) => !read.has(id)), [], 'no event lost');
  });
});
