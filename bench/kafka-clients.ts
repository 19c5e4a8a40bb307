/**
 * Benchmark of two Kafka clients for issue 7 (DESIGN.md, "Kafka client"): kafkajs 2.2.4 (what the
 * project uses) against @platformatic/kafka, on the same real local broker (a JVM) and the same
 * TripEvent JSON values. For each client and each round:
 * - consume: the whole source topic (written once, in transactions, so it holds commit markers) in
 *   a fresh consumer group with read_committed, starting from the earliest offset;
 * - produce idempotent: every record to a fresh topic, idempotent producer, acks from all replicas;
 * - produce transactional: the same, one transaction per `--txn-records` records.
 * Reported as records per CPU-second of this process (process.cpuUsage around the work; the
 * broker's CPU is not counted) and wall time, the median over `--rounds` rounds whose client order
 * alternates, and as the ratio platformatic / kafkajs of the same run.
 *
 * Then a feature check against the same broker: a transaction prepared by a @platformatic/kafka
 * producer in a child process that is then killed (SIGKILL) is committed by this process from the
 * transactional id, producer id and epoch alone, through the library's public EndTxn API (what
 * Flink's resumeTransaction does, and what processor/sinks/kafka/transactions.ts does with kafkajs
 * internals); the last stable offset before and after shows it. And a custom SASL authenticator
 * (our own SaslAuthenticate bytes, as the MSK IAM provider does for kafkajs) against the broker's
 * SASL_PLAINTEXT listener, with a wrong password that must fail.
 *
 * Run: `npx tsx bench/kafka-clients.ts [--records 200000] [--partitions 3] [--rounds 3]
 * [--batch 1000] [--txn-records 20000] [--compression none|lz4|gzip|snappy] [--retry-delay MS]`
 * (the last is @platformatic/kafka's retryDelay, default 1000 ms; it paces its retries of
 * CONCURRENT_TRANSACTIONS between one transaction's commit and the next one's first write).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  Connection,
  Consumer,
  FetchIsolationLevels,
  FindCoordinatorKeyTypes,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  endTxnV4,
  findCoordinatorV6,
  type CompressionAlgorithmValue,
} from '@platformatic/kafka';
import { CompressionTypes, type Kafka } from 'kafkajs';
import { createKafkaClient } from '../common/kafka/client.js';
import { createLogger } from '../common/log.js';
import { startKafka } from '../local/kafka.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag } from './args.js';
import { median } from './measure.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);

type Compression = 'none' | 'gzip' | 'snappy' | 'lz4';
const KAFKAJS_CODEC: Record<Compression, CompressionTypes> = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4 };
type Task = 'consume' | 'produce-idempotent' | 'produce-transactional';
const TASKS: readonly Task[] = ['consume', 'produce-idempotent', 'produce-transactional'];

/** What one client does in one task; `records` are the TripEvent JSON values, keyed by index. */
interface Workload {
  readonly bootstrap: string;
  readonly keys: readonly Buffer[];
  readonly values: readonly Buffer[];
  readonly batch: number;
  readonly txnRecords: number;
  readonly compression: Compression;
  /** @platformatic/kafka's retryDelay (ms); its default is 1000. */
  readonly retryDelay?: number;
}

interface ClientUnderTest {
  readonly name: string;
  consume(topic: string, group: string, count: number): Promise<number>;
  produce(topic: string, work: Workload, transactional: boolean, id: string): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function kafkajsClient(kafka: Kafka): ClientUnderTest {
  return {
    name: 'kafkajs 2.2.4',
    async consume(topic, group, count) {
      const consumer = kafka.consumer({ groupId: group, readUncommitted: false });
      await consumer.connect();
      let seen = 0;
      let bytes = 0;
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            consumer
              .run({
                eachBatch: async ({ batch }) => {
                  for (const message of batch.messages) bytes += message.value?.length ?? 0;
                  seen += batch.messages.length;
                  if (seen >= count) resolve();
                },
              })
              .catch(reject);
          }),
          300_000,
          'kafkajs consume',
        );
      } finally {
        await consumer.disconnect();
      }
      return bytes;
    },
    async produce(topic, work, transactional, id) {
      const producer = kafka.producer(transactional ? { idempotent: true, maxInFlightRequests: 1, transactionalId: id } : { idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const compression = KAFKAJS_CODEC[work.compression];
      const slice = (from: number, to: number) => work.values.slice(from, to).map((value, j) => ({ key: work.keys[from + j], value }));
      try {
        if (!transactional) {
          for (let i = 0; i < work.values.length; i += work.batch) await producer.send({ topic, acks: -1, compression, messages: slice(i, Math.min(i + work.batch, work.values.length)) });
          return;
        }
        for (let t = 0; t < work.values.length; t += work.txnRecords) {
          const transaction = await producer.transaction();
          const end = Math.min(t + work.txnRecords, work.values.length);
          for (let i = t; i < end; i += work.batch) await transaction.send({ topic, acks: -1, compression, messages: slice(i, Math.min(i + work.batch, end)) });
          await transaction.commit();
        }
      } finally {
        await producer.disconnect();
      }
    },
  };
}

function platformaticClient(bootstrap: string): ClientUnderTest {
  return {
    name: '@platformatic/kafka 1.35.0',
    async consume(topic, group, count) {
      const consumer = new Consumer({ clientId: 'bench-platformatic', groupId: group, bootstrapBrokers: [bootstrap], isolationLevel: FetchIsolationLevels.READ_COMMITTED });
      let seen = 0;
      let bytes = 0;
      try {
        const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST, autocommit: true });
        // 'data' events rather than the async iterator, the faster of the two in Node streams.
        await withTimeout(
          new Promise<void>((resolve, reject) => {
            stream.on('error', reject);
            stream.on('data', (message: { value?: Buffer }) => {
              bytes += message.value?.length ?? 0;
              if (++seen === count) resolve();
            });
          }),
          300_000,
          '@platformatic/kafka consume',
        );
        await stream.close();
      } finally {
        await consumer.close(true);
      }
      return bytes;
    },
    async produce(topic, work, transactional, id) {
      const compression = work.compression as CompressionAlgorithmValue;
      const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: [work.bootstrap], idempotent: true, acks: -1, compression, ...(work.retryDelay !== undefined ? { retryDelay: work.retryDelay } : {}), ...(transactional ? { transactionalId: id } : {}) });
      const slice = (from: number, to: number) => work.values.slice(from, to).map((value, j) => ({ topic, key: work.keys[from + j], value }));
      try {
        if (!transactional) {
          for (let i = 0; i < work.values.length; i += work.batch) await producer.send({ messages: slice(i, Math.min(i + work.batch, work.values.length)) });
          return;
        }
        for (let t = 0; t < work.values.length; t += work.txnRecords) {
          const transaction = await producer.beginTransaction();
          const end = Math.min(t + work.txnRecords, work.values.length);
          for (let i = t; i < end; i += work.batch) await transaction.send({ messages: slice(i, Math.min(i + work.batch, end)) });
          await transaction.commit();
        }
      } finally {
        await producer.close();
      }
    },
  };
}

interface Sample {
  readonly cpu: number;
  readonly wall: number;
}

async function measure(work: () => Promise<unknown>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1e6, wall: (performance.now() - wall) / 1000 };
}

/** One client's medians for one task. */
export interface KafkaClientsBenchCell {
  readonly recordsPerCpuSecond: number;
  readonly wallSeconds: number;
}

/** The results of {@link runKafkaClientsBench}. */
export interface KafkaClientsBenchResult {
  readonly records: number;
  readonly kafkajs: Record<Task, KafkaClientsBenchCell>;
  readonly platformatic: Record<Task, KafkaClientsBenchCell>;
  /** platformatic / kafkajs, records per CPU-second, per task. */
  readonly cpuRatio: Record<Task, number>;
  /** The crashed producer's transaction was committed by id, producer id and epoch. */
  readonly resumeCommitted: boolean;
  /** A custom SASL authenticator logged in (and a wrong password did not). */
  readonly customSasl: boolean;
}

/** Sum of a topic's read_committed (last stable) or read_uncommitted (high watermark) end offsets. */
async function endOffsets(bootstrap: string, topic: string, isolationLevel: number): Promise<bigint> {
  const consumer = new Consumer({ clientId: 'bench-offsets', groupId: `bench-offsets-${process.pid}`, bootstrapBrokers: [bootstrap] });
  try {
    const offsets = await consumer.listOffsets({ topics: [topic], isolationLevel });
    return (offsets.get(topic) ?? []).reduce((sum, offset) => sum + offset, 0n);
  } finally {
    await consumer.close(true);
  }
}

/**
 * The child half of the resume check: begins a transaction, writes `records` records, prints the
 * transaction's ids as one JSON line, and waits to be killed (it never commits or aborts).
 */
async function prepareAndHang(bootstrap: string, topic: string, transactionalId: string, records: number): Promise<void> {
  const producer = new Producer({ clientId: 'bench-resume-child', bootstrapBrokers: [bootstrap], idempotent: true, acks: -1, transactionalId });
  const transaction = await producer.beginTransaction();
  await transaction.send({ messages: Array.from({ length: records }, (_, i) => ({ topic, key: Buffer.from(String(i)), value: Buffer.from(`prepared ${i}`) })) });
  process.stdout.write(`${JSON.stringify({ transactionalId, producerId: String(producer.producerId), producerEpoch: producer.producerEpoch })}\n`);
  await new Promise(() => undefined);
}

/** Runs the child, reads its ids, kills it with SIGKILL, then commits its transaction by those ids. */
async function checkResume(bootstrap: string, topic: string, log: (line: string) => void): Promise<boolean> {
  const transactionalId = `bench-resume-${Date.now()}`;
  const records = 10;
  const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, '--prepare-child', bootstrap, topic, transactionalId, String(records)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await withTimeout(
    new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const end = out.indexOf('\n');
        if (end >= 0) resolve(out.slice(0, end));
      });
      child.on('exit', (code) => reject(new Error(`the preparing child exited (${code}) before printing its transaction`)));
    }),
    60_000,
    'the preparing child',
  );
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const ids = JSON.parse(line) as { transactionalId: string; producerId: string; producerEpoch: number };
  const before = await endOffsets(bootstrap, topic, FetchIsolationLevels.READ_COMMITTED);
  const high = await endOffsets(bootstrap, topic, FetchIsolationLevels.READ_UNCOMMITTED);

  const [host, port] = bootstrap.split(':') as [string, string];
  const connection = new Connection('bench-resume');
  await connection.connect(host, Number(port));
  let coordinatorConnection = connection;
  try {
    const found = await findCoordinatorV6.api.async(connection, FindCoordinatorKeyTypes.TRANSACTION, [transactionalId]);
    const coordinator = found.coordinators[0];
    if (coordinator === undefined) throw new Error(`no transaction coordinator for ${transactionalId}`);
    if (coordinator.host !== host || coordinator.port !== Number(port)) {
      coordinatorConnection = new Connection('bench-resume');
      await coordinatorConnection.connect(coordinator.host, coordinator.port);
    }
    const answer = await endTxnV4.api.async(coordinatorConnection, ids.transactionalId, BigInt(ids.producerId), ids.producerEpoch, true);
    if (answer.errorCode !== 0) throw new Error(`EndTxn answered error code ${answer.errorCode}`);
  } finally {
    if (coordinatorConnection !== connection) await coordinatorConnection.close();
    await connection.close();
  }
  let after = before;
  for (let i = 0; i < 50 && after < high; i++) {
    after = await endOffsets(bootstrap, topic, FetchIsolationLevels.READ_COMMITTED);
    if (after < high) await new Promise((r) => setTimeout(r, 100));
  }
  log(`  resume check: child (SIGKILLed) prepared ${records} records in ${ids.transactionalId} (producer id ${ids.producerId}, epoch ${ids.producerEpoch});`);
  log(`    last stable offset ${before} before EndTxn(commit) from this process, ${after} after (high watermark ${high} before the commit marker)`);
  return before === 0n && after >= BigInt(records);
}

/**
 * Custom SASL with @platformatic/kafka against the broker's SASL_PLAINTEXT (PLAIN) listener: its
 * `sasl.authenticate` hook sends our own SaslAuthenticate bytes (as common/kafka/msk-iam.ts does
 * for kafkajs); a wrong password must fail. Then whether it accepts a mechanism name outside its
 * list (AWS_MSK_IAM).
 */
async function checkCustomSasl(bootstrap: string, user: string, password: string, log: (line: string) => void): Promise<{ custom: boolean; mskIamName: string }> {
  const attempt = async (secret: string): Promise<{ ok: boolean; calls: number; error?: string }> => {
    let calls = 0;
    const consumer = new Consumer({
      clientId: 'bench-sasl',
      groupId: `bench-sasl-${process.pid}`,
      bootstrapBrokers: [bootstrap],
      retries: 0,
      sasl: {
        mechanism: 'PLAIN',
        authenticate: (_mechanism, connection, authenticate, _username, _password, _token, callback) => {
          calls++;
          authenticate(connection, Buffer.from(`\u0000${user}\u0000${secret}`), callback);
        },
      },
    });
    try {
      await consumer.metadata({ topics: [] });
      return { ok: true, calls };
    } catch (error) {
      return { ok: false, calls, error: error instanceof Error ? error.message : String(error) };
    } finally {
      await consumer.close(true);
    }
  };
  const good = await attempt(password);
  const bad = await attempt(`${password}-wrong`);
  log(`  custom SASL hook (PLAIN bytes of our own): right password ${good.ok ? 'accepted' : `refused (${good.error})`} after ${good.calls} hook call(s); wrong password ${bad.ok ? 'ACCEPTED' : 'refused'}`);
  // The options schema does not check the name; the connection does, before the handshake.
  const consumer = new Consumer({
    clientId: 'bench-sasl',
    groupId: `bench-sasl-iam-${process.pid}`,
    bootstrapBrokers: [bootstrap],
    retries: 0,
    sasl: { mechanism: 'AWS_MSK_IAM' as 'PLAIN', authenticate: (_m, connection, authenticate, _u, _p, _t, callback) => authenticate(connection, Buffer.from('{}'), callback) },
  });
  let mskIamName: string;
  try {
    await consumer.metadata({ topics: [] });
    mskIamName = 'connected (unexpected: the broker does not offer it)';
  } catch (error) {
    const causes: string[] = [];
    for (let e: unknown = error; e instanceof Error && causes.length < 4; e = (e as Error & { cause?: unknown }).cause ?? (e as Error & { errors?: unknown[] }).errors?.[0]) causes.push(e.message);
    mskIamName = `refused: ${causes.join(' <- ')}`;
  } finally {
    await consumer.close(true);
  }
  log(`  mechanism name AWS_MSK_IAM: ${mskIamName}`);
  return { custom: good.ok && good.calls > 0 && !bad.ok, mskIamName };
}

/** Runs the benchmark and prints its lines. */
export async function runKafkaClientsBench(
  options: { records?: number; partitions?: number; rounds?: number; batch?: number; txnRecords?: number; compression?: Compression; retryDelay?: number; log?: (line: string) => void } = {},
): Promise<KafkaClientsBenchResult> {
  const count = options.records ?? 200_000;
  const partitions = options.partitions ?? 3;
  const rounds = options.rounds ?? 3;
  const batch = options.batch ?? 1000;
  const txnRecords = options.txnRecords ?? 20_000;
  const compression = options.compression ?? 'none';
  const log = options.log ?? ((line: string) => console.log(line));
  const quiet = createLogger('bench.kafka-clients', { level: 'warn' });
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), count);
  const values = texts.map((t) => Buffer.from(t));
  const keys = values.map((_, i) => Buffer.from(String(i)));
  log(`Kafka clients bench: ${count} TripEvents (${values.reduce((s, v) => s + v.length, 0)} bytes of values), ${partitions} partitions, compression ${compression}, batches of ${batch}, transactions of ${txnRecords}, ${rounds} rounds, platformatic retryDelay ${options.retryDelay ?? 'default (1000 ms)'}, broker in another process, ${process.version}`);

  const saslUser = 'bench';
  const saslPassword = 'bench-secret';
  const broker = await startKafka({ log: quiet, saslPlainUsers: { [saslUser]: saslPassword } });
  try {
    const kafka = createKafkaClient({ brokers: broker.brokers, clientId: 'bench-kafkajs', log: quiet });
    const work: Workload = { bootstrap: broker.bootstrapServers, keys, values, batch, txnRecords, compression, ...(options.retryDelay !== undefined ? { retryDelay: options.retryDelay } : {}) };
    const source = 'bench-clients-source';
    await broker.createTopic(source, partitions);
    const kafkajs = kafkajsClient(kafka);
    const platformatic = platformaticClient(broker.bootstrapServers);
    await kafkajs.produce(source, work, true, 'bench-clients-source-writer');

    const samples = new Map<string, Sample[]>();
    const add = (client: ClientUnderTest, task: Task, sample: Sample) => {
      const key = `${client.name}|${task}`;
      samples.set(key, [...(samples.get(key) ?? []), sample]);
    };
    let topicCount = 0;
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [kafkajs, platformatic] : [platformatic, kafkajs];
      for (const client of order) {
        const group = `bench-clients-${round}-${client === kafkajs ? 'kafkajs' : 'platformatic'}`;
        let bytes = 0;
        add(client, 'consume', await measure(async () => (bytes = await client.consume(source, group, count))));
        if (bytes === 0) throw new Error(`${client.name} consumed no bytes`);
        for (const transactional of [false, true]) {
          const topic = `bench-clients-out-${++topicCount}`;
          await broker.createTopic(topic, partitions);
          add(client, transactional ? 'produce-transactional' : 'produce-idempotent', await measure(() => client.produce(topic, work, transactional, `${topic}-txn`)));
          // The last stable offset passes the records once the commit markers are written (after
          // EndTxn answers); a transactional topic also holds one marker per partition and transaction.
          let written = 0n;
          for (let i = 0; i < 100 && written < BigInt(count); i++) {
            if (i > 0) await new Promise((r) => setTimeout(r, 100));
            written = await endOffsets(broker.bootstrapServers, topic, FetchIsolationLevels.READ_COMMITTED);
          }
          if (written < BigInt(count)) {
            const high = await endOffsets(broker.bootstrapServers, topic, FetchIsolationLevels.READ_UNCOMMITTED);
            throw new Error(`${client.name} wrote ${written} < ${count} committed records to ${topic} (high watermarks ${high})`);
          }
        }
      }
      log(`  round ${round + 1} of ${rounds} done`);
    }

    const cell = (client: ClientUnderTest, task: Task): KafkaClientsBenchCell => {
      const list = samples.get(`${client.name}|${task}`) ?? [];
      return { recordsPerCpuSecond: Math.round(median(list.map((s) => count / s.cpu))), wallSeconds: median(list.map((s) => s.wall)) };
    };
    const byTask = (client: ClientUnderTest) => Object.fromEntries(TASKS.map((t) => [t, cell(client, t)])) as Record<Task, KafkaClientsBenchCell>;
    const a = byTask(kafkajs);
    const b = byTask(platformatic);
    const cpuRatio = Object.fromEntries(TASKS.map((t) => [t, b[t].recordsPerCpuSecond / a[t].recordsPerCpuSecond])) as Record<Task, number>;
    log('');
    log('  task (medians of the rounds)      kafkajs rec/CPU-s   wall s   platformatic rec/CPU-s   wall s   ratio CPU   ratio wall');
    for (const t of TASKS) {
      log(
        `  ${t.padEnd(32)} ${String(a[t].recordsPerCpuSecond).padStart(17)} ${a[t].wallSeconds.toFixed(2).padStart(8)} ${String(b[t].recordsPerCpuSecond).padStart(24)} ${b[t].wallSeconds.toFixed(2).padStart(8)} ${cpuRatio[t].toFixed(3).padStart(11)} ${(a[t].wallSeconds / b[t].wallSeconds).toFixed(3).padStart(12)}`,
      );
    }
    log('  (ratios: platformatic / kafkajs records per CPU-second, and kafkajs wall / platformatic wall; above 1 favours platformatic)');

    const resumeTopic = 'bench-clients-resume';
    await broker.createTopic(resumeTopic, 1);
    const resumeCommitted = await checkResume(broker.bootstrapServers, resumeTopic, log);
    log(`  resume by transactional id + producer id + epoch with @platformatic/kafka's public API: ${resumeCommitted ? 'committed' : 'NOT committed'}`);
    const saslBootstrap = broker.saslPlaintextBootstrapServers;
    if (saslBootstrap === undefined) throw new Error('the local broker has no SASL_PLAINTEXT listener');
    const sasl = await checkCustomSasl(saslBootstrap, saslUser, saslPassword, log);
    return { records: count, kafkajs: a, platformatic: b, cpuRatio, resumeCommitted, customSasl: sasl.custom };
  } finally {
    await broker.stop();
  }
}

function compressionFlag(): Compression | undefined {
  const at = process.argv.indexOf('--compression');
  if (at === -1) return undefined;
  const value = process.argv[at + 1];
  if (value === 'none' || value === 'gzip' || value === 'snappy' || value === 'lz4') return value;
  throw new Error(`--compression must be none, gzip, snappy or lz4 (zstd: @platformatic/kafka has none on Node 20), got ${value}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const child = process.argv.indexOf('--prepare-child');
  if (child !== -1) {
    const [bootstrap, topic, id, records] = process.argv.slice(child + 1);
    if (bootstrap === undefined || topic === undefined || id === undefined || records === undefined) throw new Error('--prepare-child needs bootstrap, topic, transactional id and record count');
    await prepareAndHang(bootstrap, topic, id, Number(records));
  } else {
    const records = numberFlag('--records');
    const partitions = numberFlag('--partitions');
    const rounds = numberFlag('--rounds');
    const batch = numberFlag('--batch');
    const txnRecords = numberFlag('--txn-records');
    const compression = compressionFlag();
    const retryDelay = numberFlag('--retry-delay');
    await runKafkaClientsBench({
      ...(records ? { records } : {}),
      ...(partitions ? { partitions } : {}),
      ...(rounds ? { rounds } : {}),
      ...(batch ? { batch } : {}),
      ...(txnRecords ? { txnRecords } : {}),
      ...(compression ? { compression } : {}),
      ...(retryDelay ? { retryDelay } : {}),
    });
  }
}
