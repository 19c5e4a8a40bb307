/**
 * Kafka source (issue 7, "Proof"): processor CLI processes in one consumer group read a topic of
 * the real local broker into moto's S3 as Parquet, with positions in moto's DynamoDB lease table.
 * Every test reads the output back with pyarrow and checks each trip id put on the topic is there
 * exactly once, in its partition, with no upload left open.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { createKafkaClient } from '../../common/kafka/client.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import { startCliProcessor, tailLines, type CliProcessor } from '../support/cli-processor.js';
import { KAFKA_CONSOLE_PRODUCER } from '../../local/kafka.js';
import { kafkaSkipReason, uniqueTopic, useKafka, waitForBroker } from '../support/kafka.js';
import { kafkaCaughtUp, kafkaWorkerEnv, topicEnds, TopicProducer } from '../support/kafka-pipeline.js';
import { startServicesForTest, uniqueName } from '../support/local.js';
import { checkOutput, tripEvent, leasesPerOwner, openUploads, readLeases, readRuns, testClients, uncommittedRecords } from '../support/scale-out.js';
import { KILL_PHASES, random } from '../support/soak.js';

const log = createLogger('test.kafka-source', { level: 'warn' });

describe('Kafka source: a consumer group into S3 Parquet, exactly once', { skip: kafkaSkipReason() }, () => {
  const broker = useKafka();
  let services: LocalServices;
  let clients: ReturnType<typeof testClients>;
  let kafka: Kafka;
  const running: CliProcessor[] = [];

  before(async () => {
    services = await startServicesForTest({ s3: 'moto' });
    clients = testClients();
    kafka = createKafkaClient({ brokers: broker.get().brokers, clientId: 'kafka-source-test', log });
  });
  after(async () => {
    for (const w of running) w.kill('SIGKILL');
    await Promise.all(running.map((w) => w.exited));
    clients?.destroy();
    await services?.stop();
  });

  async function setUp(partitions: number): Promise<{ topic: string; bucket: string; table: string; application: string; producer: TopicProducer; env: (extra?: Record<string, string>) => Record<string, string> }> {
    const resources = { topic: uniqueTopic('trips'), bucket: uniqueName('out'), table: uniqueName('ckpt'), application: uniqueName('app') };
    await broker.get().createTopic(resources.topic, partitions);
    await services.createBucket(resources.bucket);
    await services.createTable(resources.table);
    const producer = new TopicProducer(kafka, resources.topic);
    await producer.connect();
    return { ...resources, producer, env: (extra = {}) => kafkaWorkerEnv(services.env, { ...resources, bootstrapServers: broker.get().bootstrapServers }, extra) };
  }

  function start(env: Record<string, string>): CliProcessor {
    const worker = startCliProcessor(env);
    running.push(worker);
    return worker;
  }

  async function drainAndStop(r: { topic: string; table: string; application: string }, workers: readonly CliProcessor[]): Promise<void> {
    const ends = await topicEnds(kafka, r.topic);
    try {
      await waitForBroker('every partition checkpointed at its end offset', async () => {
        for (const w of workers) if (w.hasExited()) throw new Error(`a worker exited early:\n${tailLines(w.lines)}`);
        return kafkaCaughtUp(await readLeases(clients.dynamo, r.table, r.application), ends);
      });
    } catch (error) {
      // Say where each partition stands and what the workers said last.
      const leases = (await readLeases(clients.dynamo, r.table, r.application)).map((l) => `${l.shard} owner ${l.owner} checkpoint ${l.checkpoint}`);
      const state = `ends ${JSON.stringify(Object.fromEntries([...ends].map(([p, e]) => [p, String(e)])))}\nleases:\n${leases.join('\n')}`;
      throw new Error(`${(error as Error).message}\n${state}\n${workers.map((w) => tailLines(w.lines, 40)).join('\n---\n')}`, { cause: error });
    }
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) {
      const exit = await w.exited;
      assert.equal(exit.code, 0, `a worker stopped with SIGTERM exits 0:\n${tailLines(exit.lines)}`);
    }
  }

  async function assertExact(r: { bucket: string; table: string; application: string }, ids: readonly number[]): Promise<void> {
    const output = await checkOutput(clients.s3, r.bucket, ids);
    assert.equal(output.rows, ids.length, `one row per event (${output.duplicates.length} duplicated, ${output.missing.length} missing)`);
    assert.deepEqual(output.duplicates, [], 'no event twice');
    assert.deepEqual(output.missing, [], 'no event missing');
    assert.deepEqual(output.unexpected, []);
    assert.deepEqual(output.misplaced, [], 'every row in its partition');
    assert.deepEqual(await openUploads(clients.s3, r.bucket), [], 'no upload left open');
    assert.deepEqual(await uncommittedRecords(clients.dynamo, r.table, r.application), [], 'every commit record committed');
  }

  test('one processor reads every partition; a restart adds nothing; group offsets follow the checkpoints', async () => {
    const r = await setUp(3);
    const ids = Array.from({ length: 600 }, (_, i) => i);
    await r.producer.put(ids.slice(0, 300));
    const worker = start(r.env());
    await r.producer.put(ids.slice(300));
    await drainAndStop(r, [worker]);
    const leases = await readLeases(clients.dynamo, r.table, r.application);
    assert.deepEqual(leases.map((l) => l.shard).sort(), [0, 1, 2].map((p) => `${r.topic}/${p}`), 'one lease per partition, keyed <topic>/<partition>');
    assert.ok(leases.every((l) => l.owner === undefined), 'a clean stop released every lease');
    assert.deepEqual(await readRuns(clients.dynamo, r.table, r.application), [], 'and removed its run');

    // The group's committed offsets are the checkpointed positions (for lag tools).
    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: r.application, topics: [r.topic] });
    await admin.disconnect();
    const byPartition = new Map(leases.map((l) => [l.shard, l.checkpoint]));
    for (const c of committed!.partitions) assert.equal(c.offset, byPartition.get(`${r.topic}/${c.partition}`), `group offset of partition ${c.partition}`);

    const again = start(r.env());
    await r.producer.put([600, 601]);
    await drainAndStop(r, [again]);
    await assertExact(r, [...ids, 600, 601]);
    await r.producer.disconnect();
  });

  test('two processors in one group split the partitions; kill -9 one: the other takes its partitions over, output exact', async () => {
    const r = await setUp(4);
    let next = 0;
    const produce = async (n: number): Promise<void> => {
      await r.producer.put(Array.from({ length: n }, (_, i) => next + i));
      next += n;
    };
    await produce(200);
    const a = start(r.env());
    const b = start(r.env());
    await waitForBroker('both workers own partitions', async () => {
      await produce(20);
      const owners = leasesPerOwner(await readLeases(clients.dynamo, r.table, r.application));
      return a.runId() !== undefined && b.runId() !== undefined && (owners.get(a.runId()!) ?? 0) === 2 && (owners.get(b.runId()!) ?? 0) === 2;
    });
    await waitForBroker('the victim checkpointed', async () => Number(a.status()?.checkpoints ?? 0) >= 2);
    a.kill('SIGKILL');
    await a.exited;
    await produce(200);
    await waitForBroker('the survivor owns every partition', async () => {
      await produce(10);
      return (leasesPerOwner(await readLeases(clients.dynamo, r.table, r.application)).get(b.runId()!) ?? 0) === 4;
    });
    await drainAndStop(r, [b]);
    await assertExact(r, r.producer.ids);
    await r.producer.disconnect();
  });

  test("batches written by Kafka's own console producer with gzip, snappy, lz4 and zstd are read in full, exactly once into S3", async () => {
    const r = await setUp(1);
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
    const ids: number[] = [];
    for (const [i, codec] of codecs.entries()) {
      const batch = Array.from({ length: 250 }, (_, j) => i * 250 + j);
      const result = await broker.get().runTool(
        KAFKA_CONSOLE_PRODUCER,
        ['--bootstrap-server', broker.get().bootstrapServers, '--topic', r.topic, '--compression-codec', codec, '--producer-property', 'linger.ms=50'],
        batch.map((id) => tripEvent(id)).join('\n') + '\n',
      );
      assert.equal(result.code, 0, `console producer with ${codec}:\n${result.stderr}`);
      ids.push(...batch);
    }
    // The segment says every batch carries one of the codecs, and every codec is there.
    const partitionDir = join(broker.get().dataDir, `${r.topic}-0`);
    const segment = (await readdir(partitionDir)).find((f) => f.endsWith('.log'));
    const dump = await broker.get().runTool('kafka.tools.DumpLogSegments', ['--files', join(partitionDir, segment!)]);
    const batches = [...dump.stdout.matchAll(/^baseOffset: .* count: (\d+) .* compresscodec: (\w+)/gm)];
    assert.equal(batches.reduce((sum, b) => sum + Number(b[1]), 0), ids.length, 'every record in the segment');
    assert.deepEqual([...new Set(batches.map((b) => b[2]!.toLowerCase()))].sort(), [...codecs].sort(), 'batches of each codec, none uncompressed');

    const worker = start(r.env());
    await drainAndStop(r, [worker]);
    assert.equal(worker.find('status').at(-1)?.eventsRejected, 0, 'no dead letters');
    await assertExact(r, ids);
    await r.producer.disconnect();
  });

  test('kill -9 cycles at random moments and right after each checkpoint phase: output exact', async () => {
    const r = await setUp(4);
    const rand = random(7);
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
    let phaseKills = 0;
    let restarts = 0;
    try {
      while (kills < 12) {
        await new Promise((res) => setTimeout(res, 1500 + Math.floor(rand() * 2500)));
        for (let i = 0; i < slots.length; i += 1) {
          const slot = slots[i]!;
          if (!slot.worker.hasExited()) continue;
          const exit = await slot.worker.exited;
          assert.equal(exit.signal, 'SIGKILL', `a worker only ends by a kill here:\n${tailLines(exit.lines)}`);
          if (slot.armed) {
            kills += 1;
            phaseKills += 1;
          }
          // Every other replacement kills itself right after a checkpoint phase (cycling through them).
          const armed = restarts % 2 === 1;
          const hook = `${KILL_PHASES[Math.floor(restarts / 2) % KILL_PHASES.length]}:${2 + Math.floor(rand() * 3)}`;
          restarts += 1;
          slots[i] = { worker: start(armed ? r.env({ ETL_FAULT_KILL_AFTER_PHASE: hook }) : r.env()), armed };
        }
        const victims = slots.filter((s) => !s.armed && !s.worker.hasExited() && Number(s.worker.status()?.checkpoints ?? 0) >= 1);
        const victim = victims[Math.floor(rand() * victims.length)];
        if (!victim) continue;
        victim.worker.kill('SIGKILL');
        kills += 1;
      }
      // Then two plain workers finish the job.
      for (let i = 0; i < slots.length; i += 1) {
        slots[i]!.worker.kill('SIGKILL');
        await slots[i]!.worker.exited;
        slots[i] = { worker: start(r.env()), armed: false };
      }
      producing = false;
      await loop;
      await drainAndStop(r, slots.map((s) => s.worker));
    } finally {
      producing = false;
      await loop.catch(() => undefined);
    }
    assert.ok(kills >= 10, `at least 10 kills (${kills}, ${phaseKills} right after a checkpoint phase)`);
    assert.ok(phaseKills >= 2, `some kills right after a checkpoint phase (${phaseKills})`);
    await assertExact(r, r.producer.ids);
    await r.producer.disconnect();
  });
});
