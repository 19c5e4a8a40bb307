/**
 * The local Kafka broker (local/kafka.ts) is a real broker, and kafkajs 2.2.4 can do against it
 * what the Kafka source and sink need: produce and consume, share partitions in a consumer group
 * and commit its offsets, and commit and abort transactions (read_committed hides aborted
 * records). Kafka's own console producer, run from the cached jars, writes batches with each
 * compression codec. The broker survives kill -9 and a freeze with its data.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, Partitioners, type Consumer, type EachMessagePayload } from 'kafkajs';
import { createLogger } from '../../common/log.js';
import { KAFKA_CONSOLE_PRODUCER, kafkajsLogCreator, startKafka } from '../../local/kafka.js';
import { MissingToolError, ServiceStartError } from '../../local/errors.js';
import { findJava } from '../../local/java.js';
import { kafkaSkipReason, uniqueTopic, useKafka } from '../support/kafka.js';
import { uniqueName, waitFor } from '../support/local.js';

const log = createLogger('test.kafka', { level: 'warn' });

describe('local Kafka broker', { skip: kafkaSkipReason() }, () => {
  const broker = useKafka();
  const client = (): Kafka => new Kafka({ clientId: 'local-kafka-test', brokers: [...broker.get().brokers], logCreator: kafkajsLogCreator(log) });

  async function consumeAll(consumer: Consumer, topic: string, count: number, into: EachMessagePayload[] = []): Promise<EachMessagePayload[]> {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async (payload) => {
        into.push(payload);
      },
    });
    await waitFor(`${count} messages from ${topic}`, () => into.length >= count);
    return into;
  }

  test('kafkajs produces to and consumes from a topic with several partitions', async () => {
    const topic = uniqueTopic();
    await broker.get().createTopic(topic, 3);
    const kafka = client();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const values = Array.from({ length: 30 }, (_, i) => `event-${i}`);
    await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('group') });
    try {
      const got = await consumeAll(consumer, topic, values.length);
      assert.deepEqual(got.map((m) => m.message.value?.toString()).sort(), [...values].sort());
      assert.deepEqual([...new Set(got.map((m) => m.partition))].sort(), [0, 1, 2], 'keys spread over every partition');
    } finally {
      await consumer.disconnect();
    }
  });

  test('two consumers of one group split the partitions; committed offsets let a new member resume after them', async () => {
    const topic = uniqueTopic();
    await broker.get().createTopic(topic, 4);
    const kafka = client();
    const groupId = uniqueName('group');
    const assignments = new Map<string, number[]>();
    const members = [kafka.consumer({ groupId }), kafka.consumer({ groupId })];
    try {
      for (const [i, member] of members.entries()) {
        member.on(member.events.GROUP_JOIN, (event) => assignments.set(`m${i}`, event.payload.memberAssignment[topic] ?? []));
        await member.connect();
        await member.subscribe({ topic, fromBeginning: true });
        await member.run({ eachMessage: async () => undefined });
      }
      // The first member gets every partition, then gives half up when the second one joins.
      const split = (): boolean => [...assignments.values()].filter((p) => p.length > 0).length === 2 && [...assignments.values()].flat().sort().join() === '0,1,2,3';
      await waitFor('the two members to split the four partitions', split);
      assert.deepEqual([...assignments.values()].map((p) => p.length), [2, 2]);
    } finally {
      for (const member of members) await member.disconnect();
    }

    // Given 10 records of which the group commits the first 6 (manually, after processing)
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}`, partition: 0 })) });
    await producer.disconnect();
    const first = kafka.consumer({ groupId: `${groupId}-commit` });
    const seen: string[] = [];
    try {
      await first.connect();
      await first.subscribe({ topic, fromBeginning: true });
      await first.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          if (seen.length >= 6) return;
          seen.push(message.value!.toString());
          if (seen.length === 6) await first.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        },
      });
      await waitFor('6 records processed', () => seen.length === 6);
    } finally {
      await first.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: `${groupId}-commit`, topics: [topic] });
    await admin.disconnect();
    assert.equal(committed[0]?.partitions.find((p) => p.partition === 0)?.offset, '6');

    // Then a new member of that group starts after the committed offset
    const second = kafka.consumer({ groupId: `${groupId}-commit` });
    try {
      const rest = await consumeAll(second, topic, 4);
      assert.deepEqual(rest.map((m) => m.message.value?.toString()), ['r6', 'r7', 'r8', 'r9']);
    } finally {
      await second.disconnect();
    }
  });

  test('transactions: read_committed sees committed records only, read_uncommitted sees the aborted ones too', async () => {
    const topic = uniqueTopic();
    await broker.get().createTopic(topic, 1);
    const kafka = client();
    const producer = kafka.producer({ transactionalId: uniqueName('tx'), idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (const [value, outcome] of [
      ['committed-1', 'commit'],
      ['aborted-1', 'abort'],
      ['committed-2', 'commit'],
    ] as const) {
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: [{ value }] });
      if (outcome === 'commit') await transaction.commit();
      else await transaction.abort();
    }
    await producer.disconnect();

    const committed = kafka.consumer({ groupId: uniqueName('rc'), readUncommitted: false });
    const uncommitted = kafka.consumer({ groupId: uniqueName('ru'), readUncommitted: true });
    try {
      const all = await consumeAll(uncommitted, topic, 3);
      assert.deepEqual(all.map((m) => m.message.value?.toString()), ['committed-1', 'aborted-1', 'committed-2'], 'the aborted record is in the log');
      // committed-2 comes after the aborted one: once it is seen, the aborted one has been passed over.
      const visible = await consumeAll(committed, topic, 2);
      assert.deepEqual(visible.map((m) => m.message.value?.toString()), ['committed-1', 'committed-2']);
    } finally {
      await committed.disconnect();
      await uncommitted.disconnect();
    }
  });

  test("Kafka's console producer (from the cached jars) writes batches compressed with gzip, snappy, lz4 and zstd", async () => {
    const kafka = client();
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
        const topic = uniqueTopic(codec);
        await broker.get().createTopic(topic, 1);
        const result = await broker.get().runTool(
          KAFKA_CONSOLE_PRODUCER,
          ['--bootstrap-server', broker.get().bootstrapServers, '--topic', topic, '--compression-codec', codec, '--producer-property', 'linger.ms=50'],
          'one\ntwo\nthree\n',
        );
        // In 3.9 --compression-codec wins over --producer-property compression.type (its default "none" overrides it).
        assert.equal(result.code, 0, `console producer with ${codec} failed:\n${result.stderr}`);
        const offsets = await admin.fetchTopicOffsets(topic);
        assert.equal(offsets[0]?.high, '3', `${codec}: three records written`);
        // The segment on disk says which codec its batch carries.
        const partitionDir = join(broker.get().dataDir, `${topic}-0`);
        const segment = (await readdir(partitionDir)).find((f) => f.endsWith('.log'));
        assert.ok(segment, `a segment in ${partitionDir}`);
        const dump = await broker.get().runTool('kafka.tools.DumpLogSegments', ['--files', join(partitionDir, segment)]);
        assert.equal(dump.code, 0, dump.stderr);
        // The producer may send the three lines in one batch or several: every batch carries the codec.
        const batches = [...dump.stdout.matchAll(/^baseOffset: .* count: (\d+) .* compresscodec: (\w+)/gm)];
        assert.equal(batches.reduce((sum, b) => sum + Number(b[1]), 0), 3, `three records in the segment:\n${dump.stdout}`);
        assert.deepEqual([...new Set(batches.map((b) => b[2]?.toLowerCase()))], [codec], `every batch is ${codec}:\n${dump.stdout}`);
      }
    } finally {
      await admin.disconnect();
    }
  });

  test('the broker keeps its data over kill -9 and restart on the same port, and answers nothing while paused', async () => {
    const topic = uniqueTopic();
    await broker.get().createTopic(topic, 1);
    const kafka = client();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'before-kill' }] });
    await producer.disconnect();

    await broker.get().kill();
    assert.equal(broker.get().pid, undefined);
    await broker.get().restart();

    const paused = new Kafka({ clientId: 'paused', brokers: [...broker.get().brokers], logLevel: 0, requestTimeout: 1000, connectionTimeout: 1000, retry: { retries: 0 } });
    const admin = paused.admin();
    broker.get().pause();
    try {
      await assert.rejects(admin.connect().then(() => admin.listTopics()), 'a frozen broker does not answer');
    } finally {
      broker.get().resume();
      await admin.disconnect();
    }

    const consumer = client().consumer({ groupId: uniqueName('after') });
    try {
      const got = await consumeAll(consumer, topic, 1);
      assert.equal(got[0]?.message.value?.toString(), 'before-kill');
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('local Kafka errors', { skip: kafkaSkipReason() }, () => {
  test('a broker that cannot start fails with the end of its log', async () => {
    await assert.rejects(
      startKafka({ brokerProperties: { 'num.io.threads': 'many' }, readyTimeoutMs: 60_000, log }),
      (error: unknown) => error instanceof ServiceStartError && /num\.io\.threads/.test(error.logTail),
    );
  });

  test('no acceptable Java is a MissingToolError that says what was found and how to install one', () => {
    assert.throws(
      () => findJava({ min: 98, max: 99, purpose: 'a future Kafka' }),
      (error: unknown) => error instanceof MissingToolError && error.tool === 'java' && /a future Kafka needs Java 98–99; found only .*Java \d+/.test(error.message) && /apt-get install/.test(error.message),
    );
  });
});
