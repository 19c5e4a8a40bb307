/**
 * The exactly-once Kafka sink (issue 7) against the real local broker, read back by read_committed
 * consumers.
 * - The sink on its own: a transaction persisted but not committed by a run that then dies is
 *   committed by the next run (not aborted), once however often it is committed; the dead run's
 *   later transactions (pre-committed but not persisted, or still open) are aborted, never visible,
 *   and hold back no reader (last stable offset = high watermark); a transaction the broker aborted
 *   on its timeout is reported as lost.
 * - A processor CLI process killed right after a checkpoint's persist (its transaction is then
 *   committed by the next run) or pre-commit (aborted, the events read again): every event once.
 * - Processor CLI processes, Kafka → Kafka and Kinesis → Kafka: after at least 10 kill -9 cycles
 *   each, with kills right after each checkpoint phase (between persist and commit included), every
 *   event is read exactly once and no transaction is left open.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import { createKafkaClient } from '../../common/kafka/client.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import type { KafkaSinkConfig } from '../../processor/config/types.js';
import { createDecoder, loadSchema } from '../../processor/formats/index.js';
import type { EventSchema } from '../../processor/formats/types.js';
import type { SinkRecord } from '../../processor/lifecycle.js';
import { KafkaSink } from '../../processor/sinks/kafka/kafka-sink.js';
import { startCliProcessor, tailLines, type CliProcessor } from '../support/cli-processor.js';
import { kafkaSkipReason, uniqueTopic, useKafka, waitForBroker } from '../support/kafka.js';
import { kafkaCaughtUp, kafkaWorkerEnv, openTransactionPartitions, idCounts, readTopicIds, stableOffsets, topicEnds, TopicProducer } from '../support/kafka-pipeline.js';
import { startServicesForTest, uniqueName } from '../support/local.js';
import { readLeases, readRuns, testClients } from '../support/scale-out.js';
import { KILL_PHASES, runSoak } from '../support/soak.js';
import { tripEvent } from '../support/scale-out.js';

const log = createLogger('test.kafka-eos', { level: 'warn' });
const quiet = createLogger('test.kafka-eos.sink', { level: 'silent' });

/** The ids read more than once, and the ids put but not read. */
function exactlyOnce(read: readonly number[], put: readonly number[]): { duplicated: number[]; missing: number[]; unexpected: number[] } {
  const c = idCounts(read);
  const putSet = new Set(put);
  return {
    duplicated: [...c].filter(([, n]) => n > 1).map(([id]) => id),
    missing: put.filter((id) => !c.has(id)),
    unexpected: [...c.keys()].filter((id) => !putSet.has(id)),
  };
}

describe('exactly-once Kafka sink: transactions tied to the checkpoint, read back with read_committed', { skip: kafkaSkipReason() }, () => {
  // Timed-out transactions are aborted within a second (the broker's default check runs every 10 s).
  const broker = useKafka({ brokerProperties: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': 1000 } });
  let services: LocalServices | undefined;
  let kafka: Kafka;
  let schema: EventSchema;
  const running: CliProcessor[] = [];

  before(async () => {
    services = await startServicesForTest({ s3: 'moto' });
    kafka = createKafkaClient({ brokers: broker.get().brokers, clientId: 'kafka-eos-test', log });
    schema = await loadSchema('TripEvent');
  });
  after(async () => {
    for (const w of running) w.kill('SIGKILL');
    await Promise.all(running.map((w) => w.exited));
    await services?.stop();
  });

  const records = (ids: readonly number[]): SinkRecord[] => {
    const decode = createDecoder(schema);
    return ids.map((id) => {
      const raw = Buffer.from(tripEvent(id));
      const decoded = decode(raw);
      assert.ok(decoded.ok);
      return { event: decoded.event, raw, origin: { source: 'kinesis', stream: 's', shard: 'shardId-0', position: String(id) } };
    });
  };

  function sinkConfig(topic: string, extra: Partial<KafkaSinkConfig> = {}): KafkaSinkConfig {
    return {
      kind: 'kafka',
      bootstrapServers: broker.get().brokers,
      topic,
      compression: 'none',
      security: { protocol: 'PLAINTEXT' },
      deliveryGuarantee: 'EXACTLY_ONCE',
      transactionalIdPrefix: uniqueName('tx'),
      transactionTimeoutMs: 900_000,
      ...extra,
    };
  }

  async function startSink(config: KafkaSinkConfig, runId: string): Promise<KafkaSink> {
    const sink = new KafkaSink({ config, schema, log: quiet });
    await sink.start({ runId, log: quiet, reject: () => assert.fail('no record is rejected') });
    return sink;
  }

  test('a transaction persisted before a crash is committed by the next run; the dead run’s unpersisted ones are aborted and hold back no reader', async () => {
    const topic = uniqueTopic('eos');
    await broker.get().createTopic(topic, 3);
    const config = sinkConfig(topic);

    // Given a run that pre-committed transaction 1 (persisted: the checkpoint holds it), then
    // transaction 2 (its checkpoint never persisted), then wrote into transaction 3, and died
    const dead = await startSink(config, 'run-a');
    await dead.write(records([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const persisted = await dead.preCommit();
    assert.ok(persisted, 'pre-commit hands over the transaction');
    assert.equal(persisted.records, 10);
    assert.equal(persisted.transactionalId, `${config.transactionalIdPrefix}-run-a-1`);
    await dead.write(records([10, 11, 12]));
    const unpersisted = await dead.preCommit();
    assert.equal(unpersisted?.transactionalId, `${config.transactionalIdPrefix}-run-a-2`);
    // A full batch (1000 records) is sent at once: it opens transaction 3. The run dies here, closing nothing.
    await dead.write(records(Array.from({ length: 1000 }, (_, i) => 13 + i)));
    const stuck = await openTransactionPartitions(kafka, topic);
    assert.ok(stuck.length > 0, 'open transactions hold back the last stable offset');
    assert.deepEqual(await readTopicIds(kafka, topic, 5_000).catch(() => []), [], 'nothing is visible to read_committed before a commit');

    // When the next run commits the persisted transaction and cleans up the dead run
    const next = await startSink(config, 'run-b');
    assert.equal(await next.commit(persisted, 1, true), 10, 'the recovery commit makes the 10 records visible');
    const aborted = await next.abortLeftovers('run-a', [persisted]);

    // Then transaction 1 is visible once (committing it again changes nothing), 2 and 3 never are, and no transaction is open
    assert.equal(aborted, 2, 'transactions 2 and 3 of the dead run are aborted');
    assert.equal(await next.commit(persisted, 1, true), 10, 'committing again is accepted');
    await waitForBroker('no open transaction on the topic', async () => (await openTransactionPartitions(kafka, topic)).length === 0, 30_000);
    const read = await readTopicIds(kafka, topic);
    assert.deepEqual(
      [...read].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    await next.close();
    await dead.close();
  });

  test('a transaction pre-committed but never persisted is aborted, never visible; without the cleanup it would hold back readers', async () => {
    const topic = uniqueTopic('eos-abort');
    await broker.get().createTopic(topic, 2);
    const config = sinkConfig(topic);
    const dead = await startSink(config, 'run-c');
    await dead.write(records([100, 101, 102]));
    const unpersisted = await dead.preCommit();
    assert.ok(unpersisted);
    const before = await stableOffsets(kafka, topic);
    assert.ok([...before.values()].some((o) => o.stable < o.high), 'the unpersisted transaction is open');

    const next = await startSink(config, 'run-d');
    assert.equal(await next.abortLeftovers('run-c', []), 1);
    await waitForBroker('no open transaction on the topic', async () => (await openTransactionPartitions(kafka, topic)).length === 0, 30_000);
    assert.deepEqual(await readTopicIds(kafka, topic), [], 'an aborted transaction is never visible to read_committed');
    // The dead run's transaction cannot be committed any more: its epoch is fenced.
    assert.equal(await next.commit(unpersisted, 1, true), 0);
    assert.equal(next.lostTransactions, 1);
    await next.close();
    await dead.close();
  });

  test('a persisted transaction the broker aborted on its timeout is reported as lost (data loss), not hidden', async () => {
    const topic = uniqueTopic('eos-timeout');
    await broker.get().createTopic(topic, 1);
    const errors: string[] = [];
    const capture = createLogger('test.kafka-eos.capture', { level: 'error', sink: (line) => errors.push(line) });
    const config = sinkConfig(topic, { transactionTimeoutMs: 1000 });
    const sink = new KafkaSink({ config, schema, log: capture });
    await sink.start({ runId: 'run-e', log: capture, reject: () => undefined });
    await sink.write(records([200, 201]));
    const pending = await sink.preCommit();
    assert.ok(pending);
    await waitForBroker('the broker aborted the timed-out transaction', async () => (await openTransactionPartitions(kafka, topic)).length === 0, 30_000);
    assert.equal(await sink.commit(pending, 1, false), 0, 'nothing became visible');
    assert.equal(sink.lostTransactions, 1);
    const line = errors.map((l) => JSON.parse(l) as { msg: string; transactionalId?: string }).find((l) => l.msg.startsWith('DATA LOSS'));
    assert.equal(line?.transactionalId, pending.transactionalId, 'the error log names the transactional id');
    assert.deepEqual(await readTopicIds(kafka, topic), []);
    await sink.close();
  });

  test('AT_LEAST_ONCE: an idempotent producer, visible at pre-commit, nothing to commit', async () => {
    const topic = uniqueTopic('alo');
    await broker.get().createTopic(topic, 2);
    const sink = await startSink(sinkConfig(topic, { deliveryGuarantee: 'AT_LEAST_ONCE' }), 'run-f');
    await sink.write(records([300, 301, 302]));
    assert.equal(await sink.preCommit(), undefined, 'no pending commit');
    assert.equal(sink.eventsOut, 3);
    assert.deepEqual((await readTopicIds(kafka, topic)).sort((a, b) => a - b), [300, 301, 302]);
    assert.deepEqual(await openTransactionPartitions(kafka, topic), []);
    await sink.close();
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

  for (const phase of ['persist', 'pre-commit'] as const) {
    test(`processor CLI killed right after a checkpoint's ${phase}: the next run ${phase === 'persist' ? 'commits its transaction (not aborted)' : 'aborts its transaction and reads the events again'}; every event once`, async () => {
      const clients = testClients();
      const r = { input: uniqueTopic('in'), output: uniqueTopic('out'), table: uniqueName('ckpt'), application: uniqueName('app') };
      await broker.get().createTopic(r.input, 2);
      await broker.get().createTopic(r.output, 2);
      await services!.createTable(r.table);
      const producer = new TopicProducer(kafka, r.input);
      await producer.connect();
      const bootstrapServers = broker.get().bootstrapServers;
      const env = (extra: Record<string, string> = {}): Record<string, string> =>
        kafkaWorkerEnv(services!.env, { bootstrapServers, topic: r.input, table: r.table, application: r.application }, { OutputKafkaTopic: r.output, OutputKafkaBootstrapServers: bootstrapServers, ...extra });
      try {
        await producer.put(Array.from({ length: 300 }, (_, i) => i));
        // Given a run that dies right after a checkpoint's phase, its transaction open. (A first
        // checkpoint taken before the consumer group handed out partitions holds no transaction:
        // then that run is replaced by one that dies at its next checkpoint.)
        let open: string[] = [];
        for (let attempt = 1; attempt <= 5 && open.length === 0; attempt += 1) {
          const victim = start(env({ ETL_FAULT_KILL_AFTER_PHASE: `${phase}:${attempt}` }));
          const exit = await victim.exited;
          assert.equal(exit.signal, 'SIGKILL', `the hook killed it:\n${tailLines(exit.lines)}`);
          open = await openTransactionPartitions(kafka, r.output);
        }
        assert.ok(open.length > 0, 'its transaction is open: readers are held back');
        // When the next run starts (it finds the dead run after the lease duration) and more events arrive
        const next = start(env());
        await producer.put(Array.from({ length: 100 }, (_, i) => 300 + i));
        const ends = await topicEnds(kafka, r.input);
        await waitForBroker('every input partition checkpointed at its end, and the dead run cleaned up', async () => {
          if (next.hasExited()) throw new Error(`the next run exited:\n${tailLines(next.lines)}`);
          if (!kafkaCaughtUp(await readLeases(clients.dynamo, r.table, r.application), ends)) return false;
          return (await readRuns(clients.dynamo, r.table, r.application)).every((run) => run === next.runId());
        });
        await stopAll([next]);
        // Then the dead run's checkpoint was recovered as its phase implies, and every event is read once
        const recommitted = next.lines.filter((l) => l.msg === 'committing the last checkpoint of a lease taken over').length + next.lines.filter((l) => l.msg === 'cleaned up a dead run').reduce((n, l) => n + Number(l.recommitted ?? 0), 0);
        const aborted = next.lines.filter((l) => l.msg === 'cleaned up a dead run').reduce((n, l) => n + Number(l.aborted ?? 0), 0);
        if (phase === 'persist') assert.ok(recommitted >= 1, `the persisted checkpoint was committed by the next run (${recommitted})`);
        else assert.ok(aborted >= 1, `the unpersisted transaction was aborted by the next run (${aborted})`);
        assert.deepEqual(await openTransactionPartitions(kafka, r.output), [], 'no transaction left open');
        assert.deepEqual(exactlyOnce(await readTopicIds(kafka, r.output), producer.ids), { duplicated: [], missing: [], unexpected: [] }, 'every event exactly once');
      } finally {
        clients.destroy();
        await producer.disconnect();
      }
    });
  }

  test('Kafka → Kafka, at least 10 kill -9 cycles, kills right after each checkpoint phase: every event exactly once, no transaction left open', async () => {
    const clients = testClients();
    const r = { input: uniqueTopic('in'), output: uniqueTopic('out'), table: uniqueName('ckpt'), application: uniqueName('app') };
    await broker.get().createTopic(r.input, 4);
    await broker.get().createTopic(r.output, 3);
    await services!.createTable(r.table);
    const producer = new TopicProducer(kafka, r.input);
    await producer.connect();
    const bootstrapServers = broker.get().bootstrapServers;
    const env = (extra: Record<string, string> = {}): Record<string, string> =>
      kafkaWorkerEnv(services!.env, { bootstrapServers, topic: r.input, table: r.table, application: r.application }, { OutputKafkaTopic: r.output, OutputKafkaBootstrapServers: bootstrapServers, OutputKafkaCompression: 'lz4', ...extra });
    let next = 0;
    let producing = true;
    const loop = (async () => {
      while (producing) {
        await producer.put(Array.from({ length: 20 }, (_, i) => next + i));
        next += 20;
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    type Slot = { worker: CliProcessor; hook: (typeof KILL_PHASES)[number] | undefined };
    const slots: Slot[] = [
      { worker: start(env()), hook: undefined },
      { worker: start(env()), hook: undefined },
    ];
    let kills = 0;
    let restarts = 0;
    const phaseKills: Record<string, number> = { 'pre-commit': 0, persist: 0, commit: 0 };
    try {
      while (kills < 10 || Object.values(phaseKills).some((n) => n === 0)) {
        await new Promise((res) => setTimeout(res, 2000 + (restarts % 3) * 700));
        for (let i = 0; i < slots.length; i += 1) {
          const slot = slots[i]!;
          if (!slot.worker.hasExited()) continue;
          const exit = await slot.worker.exited;
          assert.equal(exit.signal, 'SIGKILL', `a worker only ends by a kill here:\n${tailLines(exit.lines)}`);
          if (slot.hook) {
            kills += 1;
            phaseKills[slot.hook]! += 1;
          }
          const hook = restarts % 2 === 1 ? KILL_PHASES[Math.floor(restarts / 2) % KILL_PHASES.length] : undefined;
          restarts += 1;
          slots[i] = { worker: start(hook ? env({ ETL_FAULT_KILL_AFTER_PHASE: `${hook}:2` }) : env()), hook };
        }
        const victim = slots.find((s) => !s.hook && !s.worker.hasExited() && Number(s.worker.status()?.checkpoints ?? 0) >= 1);
        if (!victim) continue;
        victim.worker.kill('SIGKILL');
        kills += 1;
      }
      for (let i = 0; i < slots.length; i += 1) {
        slots[i]!.worker.kill('SIGKILL');
        await slots[i]!.worker.exited;
        slots[i] = { worker: start(env()), hook: undefined };
      }
      producing = false;
      await loop;
      const ends = await topicEnds(kafka, r.input);
      await waitForBroker('every input partition checkpointed at its end, and every dead run cleaned up', async () => {
        for (const s of slots) if (s.worker.hasExited()) throw new Error(`a worker exited early:\n${tailLines(s.worker.lines)}`);
        if (!kafkaCaughtUp(await readLeases(clients.dynamo, r.table, r.application), ends)) return false;
        const live = new Set(slots.map((s) => s.worker.runId()));
        return (await readRuns(clients.dynamo, r.table, r.application)).every((run) => live.has(run));
      });
      await stopAll(slots.map((s) => s.worker));
    } finally {
      producing = false;
      await loop.catch(() => undefined);
      clients.destroy();
    }
    assert.deepEqual(await openTransactionPartitions(kafka, r.output), [], 'no transaction left open: the last stable offset is the high watermark');
    const check = exactlyOnce(await readTopicIds(kafka, r.output), producer.ids);
    log.warn('Kafka → Kafka exactly-once after kill -9 cycles', { kills, phaseKills, events: producer.ids.length, duplicated: check.duplicated.length, missing: check.missing.length });
    assert.ok(kills >= 10, `at least 10 kills (${kills})`);
    assert.deepEqual(check, { duplicated: [], missing: [], unexpected: [] }, 'every event exactly once');
    await producer.disconnect();
  });

  test('Kinesis → Kafka (and S3), at least 10 kill -9 cycles, kills right after each checkpoint phase: every event exactly once, no transaction left open', async () => {
    const output = uniqueTopic('out');
    await broker.get().createTopic(output, 2);
    const summary = await runSoak({
      services: services!,
      kills: 10,
      workers: 2,
      shards: 2,
      eventsPerTick: 20,
      seed: 7,
      env: { OutputKafkaTopic: output, OutputKafkaBootstrapServers: broker.get().bootstrapServers },
    });
    log.warn('Kinesis → Kafka exactly-once after kill -9 cycles', { kills: summary.kills, phaseKills: summary.phaseKills, events: summary.events, selfExits: summary.selfExits, seconds: Math.round(summary.durationMs / 1000) });
    assert.ok(summary.kills >= 10, `at least 10 kills (${summary.kills})`);
    for (const phase of KILL_PHASES) assert.ok(summary.phaseKills[phase] >= 1, `a kill right after ${phase} (${JSON.stringify(summary.phaseKills)})`);
    assert.deepEqual(await openTransactionPartitions(kafka, output), [], 'no transaction left open: the last stable offset is the high watermark');
    const check = exactlyOnce(await readTopicIds(kafka, output), Array.from({ length: summary.events }, (_, i) => i));
    assert.deepEqual(check, { duplicated: [], missing: [], unexpected: [] }, 'every event exactly once');
    assert.equal(summary.missing + summary.duplicates, 0, 'the S3 output is exact too');
  });
});
