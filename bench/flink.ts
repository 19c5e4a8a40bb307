/**
 * Side by side with Apache Flink (issue 11): the same TripEvents from the same local Kinesis stream
 * into the same partitioned Snappy Parquet, by our processor and by a minimal Flink job of our own
 * (bench/peers/flink: Flink 1.19.2 with flink-connector-kinesis 4.3.0-1.19, checkpointing on,
 * parallelism 1, a local MiniCluster in one JVM), each in its own process, at two sizes (N/4 and
 * N). Plus both reading the same events from a JSON-lines file: Flink 2.3.0's bounded FileSource
 * and ours with InputFile (the bounded file source, to the local S3), each exiting on its own.
 *
 * Per engine: events per CPU-second of the whole process (the N round: start-up, JIT/GC threads and
 * the final checkpoint included) and in steady state (extra events per extra CPU-second from N/4
 * to N, which cancels the fixed costs), wall time, peak RSS (VmHWM), output files and bytes; the
 * ratios ours/Flink and each against `JSON.parse` of the same lines, measured in this run. Both
 * processes report their own CPU and peak RSS on their last line (ours: its `stopped` log line;
 * Flink: ProcessFigures). Both outputs of the N round are read back (pyarrow,
 * scripts/compare-parquet.py) and compared row for row, partition directory included.
 *
 * Where the files go: ours writes to the local S3 (s3rver, on loopback, in another process: the
 * HTTP PUTs are in our CPU figure); Flink writes to a local directory (its S3 filesystem plugin is
 * not part of this job). Ours' objects are then downloaded for the comparison.
 *
 * Run: `npx tsx bench/flink.ts [--events 200000] [--file-events N] [--shards 2] [--checkpoint-interval 120000]`, or
 * `npm run bench -- --flink`. Needs Java 17 and Maven (the peer is built from Maven Central into
 * ~/.cache/streaming-etl/maven-repository on the first run, about 320 MB).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger } from '../common/log.js';
import { cacheRoot, findJava, runMaven, type JavaRequirement, type JavaRuntime } from '../local/java.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { compareOutputs, describeComparison, downloadObjects, type Comparison } from './read-back.js';
import { jsonParseBaseline, loadStreams, runRound, startLocal, type Round } from './pipeline.js';
import { buildProcessor, startWorker } from './worker.js';
import { numberFlag } from './args.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = join(ROOT, 'data/nyc-tlc/yellow_tripdata_2018-01_sample.csv');
const SCHEMA = join(ROOT, 'processor/formats/schemas/trip-event.json');
const PEER = join(ROOT, 'bench/peers/flink');
const WORK = join(ROOT, '.cache/bench-flink');
const BUCKET = 'bench-output';

/** The Java both Flink jobs are built and run with (Flink 1.19 supports 11 and 17; 2.3 supports 17 and 21). */
export const FLINK_JAVA: JavaRequirement = { min: 17, max: 17, purpose: 'the Flink peer (Flink 1.19.2 and 2.3.0)' };
/**
 * The module openings Flink's own launch scripts give Java 17 (env.java.opts.all in its default
 * configuration): Kryo and Chill reflect into java.util and friends when state is snapshotted.
 */
const FLINK_JVM_OPENS = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  ...['java.lang', 'java.net', 'java.io', 'java.nio', 'sun.nio.ch', 'java.lang.reflect', 'java.text', 'java.time', 'java.util', 'java.util.concurrent', 'java.util.concurrent.atomic', 'java.util.concurrent.locks'].map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`),
];
/** Below this CPU difference between the rounds, the steady-state figure is noise. */
const STEADY_MIN_CPU_SECONDS = 1;
/** The longest one Flink process may take before it is killed and the bench fails. */
const JVM_TIMEOUT_MS = 15 * 60_000;

/** Options of {@link runFlinkBench}. */
export interface FlinkBenchOptions {
  /** Events of the large round (the small one has a quarter). @default 200000 */
  readonly events?: number;
  /** Shards of the streams. @default 2 */
  readonly shards?: number;
  /**
   * Checkpoint interval (ms) of both engines. Both roll part files at every checkpoint, so a run
   * longer than this writes more files; the default is longer than either Kinesis run here, so
   * both mostly write one file per partition, at their final checkpoint, and the figures compare
   * the engines rather than file rolling. Flink sometimes takes its first checkpoint early in the
   * run (seen here: then it writes twice the files), so the files column is printed. @default 120000
   */
  readonly checkpointIntervalMs?: number;
  /**
   * Events of the large file round of both engines (the small one has a quarter). From a file both
   * engines are fast enough that 200,000 events leave their steady-state figure in the noise (the
   * rounds differ by about a CPU-second), so the file rounds can be larger than the Kinesis ones.
   * @default events
   */
  readonly fileEvents?: number;
  readonly log?: (line: string) => void;
}

/** One measured process. */
export interface EngineRound {
  readonly events: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly files: number;
  readonly bytes: number;
  /** Local directory of its Parquet output. */
  readonly dir: string;
}

/** One engine's line of the table. */
export interface EngineFigures {
  readonly engine: string;
  readonly wholeEventsPerCpuSecond: number;
  readonly steadyEventsPerCpuSecond: number;
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly files: number;
  readonly bytes: number;
}

/** The results of {@link runFlinkBench}. */
export interface FlinkBenchResult {
  readonly events: number;
  readonly baselineEventsPerCpuSecond: number;
  readonly ours: EngineFigures;
  readonly flinkKinesis: EngineFigures;
  readonly flinkFile: EngineFigures;
  readonly oursVsFlinkKinesis: Comparison;
  /** Ours from Kinesis against Flink's file job (only when both have the same events). */
  readonly oursVsFlinkFile: Comparison | undefined;
  /** Ours over the same JSON-lines file (InputFile), and its output against Flink's file job's. */
  readonly oursFile: EngineFigures;
  readonly oursFileVsFlinkFile: Comparison;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

/** Builds both Flink jobs (`mvn clean package` in bench/peers/flink, Maven's repository under the cache root). */
export async function buildFlinkPeer(log: (line: string) => void): Promise<JavaRuntime> {
  const java = findJava(FLINK_JAVA);
  log(`  building the Flink peer (mvn package in bench/peers/flink, Java ${java.major}) ...`);
  await runMaven(['-B', `-Dmaven.repo.local=${join(cacheRoot(), 'maven-repository')}`, '-DskipTests', 'clean', 'package'], {
    cwd: PEER,
    java,
    log: createLogger('bench.flink', { level: 'warn' }),
    what: 'the Flink peer (bench/peers/flink)',
  });
  return java;
}

/** Parquet files (not Flink's hidden in-progress files) under `dir`, and their bytes. */
async function parquetFiles(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.parquet') || entry.name.startsWith('.')) continue;
    files += 1;
    bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return { files, bytes };
}

/**
 * Runs one Flink job (`module` is kinesis or file) in its own JVM and returns its figures. The job
 * prints `{"msg":"stopped","records":N,"cpuSeconds":..,"peakRssMiB":..}` last; `expect` records must
 * have been decoded.
 */
async function runFlinkJob(java: JavaRuntime, module: string, mainClass: string, args: readonly string[], output: string, expect: number, env: Record<string, string> = {}): Promise<EngineRound> {
  const classpath = [join(PEER, module, 'target/classes'), join(PEER, module, 'target/lib/*')].join(':');
  const started = performance.now();
  const child = spawn(java.java, [...FLINK_JVM_OPENS, '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, mainClass, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  let last: string | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    last = line;
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), JVM_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0 || last === undefined) throw new Error(`the Flink ${module} job failed (exit ${code}):\n${tail.join('\n')}`);
  const figures = JSON.parse(last) as { msg: string; records: number; cpuSeconds: number; peakRssMiB: number };
  if (figures.msg !== 'stopped') throw new Error(`the Flink ${module} job ended with ${last}`);
  if (figures.records !== expect) throw new Error(`the Flink ${module} job decoded ${figures.records} records, expected ${expect}`);
  const { files, bytes } = await parquetFiles(output);
  return { events: expect, cpuSeconds: figures.cpuSeconds, wallSeconds, peakRssMiB: figures.peakRssMiB, files, bytes, dir: output };
}

/**
 * Ours over a JSON-lines file (InputFile): the processor exits 0 by itself once the file is read
 * and checkpointed; its output is downloaded into `dir`.
 */
async function runOursFile(env: Record<string, string>, input: string, count: number, checkpointIntervalMs: number): Promise<EngineRound> {
  const prefix = `file-${count}/`;
  const started = performance.now();
  const worker = startWorker({
    ...env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LOG_LEVEL: 'info',
    InputFile: input,
    OutputBucket: BUCKET,
    OutputPrefix: prefix,
    CheckpointTable: 'bench-checkpoints',
    ApplicationName: `bench-file-${count}`,
    CheckpointInterval: String(checkpointIntervalMs),
    StatusInterval: '1000',
    LeaseDuration: '60000',
    ParquetEncoder: 'native',
  });
  const code = await worker.exited;
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0 || !worker.stopped) throw new Error(`ours over ${input} did not finish cleanly (exit ${code}):\n${worker.tail.join('\n')}`);
  const written = worker.stopped.eventsOut.s3 ?? 0;
  if (written !== count) throw new Error(`ours over ${input}: expected ${count} events written, got ${written}`);
  const dir = join(WORK, `ours-file-${count}`);
  const { files, bytes } = await downloadOurs(prefix, dir);
  return { events: count, cpuSeconds: worker.stopped.cpuSeconds, wallSeconds, peakRssMiB: worker.stopped.peakRssMiB, files, bytes, dir };
}

/** Downloads our output objects under `prefix` into `dir`. */
function downloadOurs(prefix: string, dir: string): Promise<{ files: number; bytes: number }> {
  return downloadObjects(BUCKET, prefix, dir);
}

function figures(engine: string, small: EngineRound, large: EngineRound): EngineFigures {
  return {
    engine,
    wholeEventsPerCpuSecond: Math.round(large.events / large.cpuSeconds),
    steadyEventsPerCpuSecond: Math.round((large.events - small.events) / Math.max(0.01, large.cpuSeconds - small.cpuSeconds)),
    wallSeconds: large.wallSeconds,
    peakRssMiB: large.peakRssMiB,
    files: large.files,
    bytes: large.bytes,
  };
}

/**
 * Runs the side-by-side bench and prints its table. Order: ours (N/4, N) over the Kinesis streams,
 * Flink's Kinesis job (N/4, N) over the same streams, Flink's file job (N/4, N) over the same
 * events as JSON lines; then the read-back comparisons of the N outputs.
 */
export async function runFlinkBench(options: FlinkBenchOptions = {}): Promise<FlinkBenchResult> {
  const count = options.events ?? 200_000;
  const small = Math.round(count / 4);
  const fileCount = options.fileEvents ?? count;
  const fileSmall = Math.round(fileCount / 4);
  const shards = options.shards ?? 2;
  const interval = options.checkpointIntervalMs ?? 120_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const loadBefore = loadavg()[0]!;
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), Math.max(count, fileCount));
  const baseline = jsonParseBaseline(texts);

  log(`Flink side-by-side bench: ${small} and ${count} TripEvents, ${shards} shards, checkpoint interval ${interval} ms for both engines; from the file ${fileSmall} and ${fileCount}; each engine in its own process; load ${loadBefore.toFixed(1)}`);
  const java = await buildFlinkPeer(log);
  buildProcessor(log);
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  const files = { small: join(WORK, `events-${fileSmall}.jsonl`), large: join(WORK, `events-${fileCount}.jsonl`) };
  await writeFile(files.small, texts.slice(0, fileSmall).join('\n') + '\n');
  await writeFile(files.large, texts.slice(0, fileCount).join('\n') + '\n');

  const streams = { small: 'flink-small', large: 'flink-large' };
  const ours: EngineRound[] = [];
  const oursFile: EngineRound[] = [];
  const kinesis: EngineRound[] = [];
  const local = await startLocal(streams.large, shards, BUCKET, 'bench-checkpoints');
  try {
    Object.assign(process.env, local.env);
    log('  loading the streams ...');
    await loadStreams(texts, [[streams.small, small], [streams.large, count]], shards);

    log('  ours (processor/cli.ts, Kinesis -> S3) ...');
    for (const [stream, n] of [[streams.small, small], [streams.large, count]] as const) {
      const round: Round = await runRound(local.env, stream, n, { checkpointIntervalMs: interval }, []);
      const dir = join(WORK, `ours-${n}`);
      const { files: objects, bytes } = await downloadOurs(`${stream}/`, dir);
      ours.push({ events: n, cpuSeconds: round.cpuSeconds, wallSeconds: round.wallSeconds, peakRssMiB: round.peakRssMiB, files: objects, bytes, dir });
    }

    log('  ours (processor/cli.ts, InputFile JSON lines -> S3, exits on its own) ...');
    for (const [input, n] of [[files.small, fileSmall], [files.large, fileCount]] as const) oursFile.push(await runOursFile(local.env, input, n, interval));

    log('  Flink 1.19.2 + flink-connector-kinesis 4.3.0-1.19 (Kinesis -> local directory) ...');
    for (const [stream, n] of [[streams.small, small], [streams.large, count]] as const) {
      const output = join(WORK, `flink-kinesis-${n}`);
      kinesis.push(
        await runFlinkJob(
          java,
          'kinesis',
          'etl.bench.flink.KinesisJob',
          [
            '--endpoint', local.env.AWS_ENDPOINT_URL_KINESIS!,
            '--region', local.env.AWS_REGION!,
            '--access-key', local.env.AWS_ACCESS_KEY_ID!,
            '--secret-key', local.env.AWS_SECRET_ACCESS_KEY!,
            '--stream', stream,
            '--schema', SCHEMA,
            '--output', output,
            '--events', String(n),
            '--checkpoint-interval', String(interval),
            '--savepoints', join(WORK, `savepoints-${n}`),
          ],
          output,
          n,
          { AWS_CBOR_DISABLE: 'true' },
        ),
      );
    }
  } finally {
    await local.stop();
  }

  log('  Flink 2.3.0 FileSource (JSON lines -> local directory) ...');
  const file: EngineRound[] = [];
  for (const [input, n] of [[files.small, fileSmall], [files.large, fileCount]] as const) {
    const output = join(WORK, `flink-file-${n}`);
    file.push(await runFlinkJob(java, 'file', 'etl.bench.flink.FileJob', ['--input', input, '--schema', SCHEMA, '--output', output, '--checkpoint-interval', String(interval)], output, n));
  }
  const loadAfter = loadavg()[0]!;

  log('  reading both outputs back (pyarrow) ...');
  const oursVsFlinkKinesis = await compareOutputs(ours[1]!.dir, kinesis[1]!.dir);
  const oursVsFlinkFile = fileCount === count ? await compareOutputs(ours[1]!.dir, file[1]!.dir) : undefined;
  const oursFileVsFlinkFile = await compareOutputs(oursFile[1]!.dir, file[1]!.dir);

  const result: FlinkBenchResult = {
    events: count,
    baselineEventsPerCpuSecond: Math.round(baseline),
    ours: figures('ours, Kinesis -> Parquet (local S3)', ours[0]!, ours[1]!),
    flinkKinesis: figures('Flink 1.19.2, Kinesis -> Parquet (local dir)', kinesis[0]!, kinesis[1]!),
    flinkFile: figures('Flink 2.3.0, JSON-lines file -> Parquet', file[0]!, file[1]!),
    oursFile: figures('ours, JSON-lines file -> Parquet (local S3)', oursFile[0]!, oursFile[1]!),
    oursFileVsFlinkFile,
    oursVsFlinkKinesis,
    oursVsFlinkFile,
    loadBefore,
    loadAfter,
  };
  const x = (v: number): string => (v / baseline).toFixed(3);
  const n = (v: number, w = 9): string => String(Math.round(v)).padStart(w);
  log('');
  log(`  ${count} events (steady state: ${small} -> ${count}; from the file ${fileSmall} -> ${fileCount}); per CPU-second of the engine's whole process; × = ratio to JSON.parse of the same lines`);
  log('  engine                                          whole ev/CPU-s    ×      steady ev/CPU-s    ×      wall s  peak RSS MiB  files  output bytes');
  log(`  JSON.parse (baseline, this process)             ${n(baseline)}   1.000`);
  for (const f of [result.ours, result.flinkKinesis, result.oursFile, result.flinkFile]) {
    log(`  ${f.engine.padEnd(46)}  ${n(f.wholeEventsPerCpuSecond)}   ${x(f.wholeEventsPerCpuSecond)}  ${n(f.steadyEventsPerCpuSecond, 13)}   ${x(f.steadyEventsPerCpuSecond)}  ${f.wallSeconds.toFixed(1).padStart(7)}  ${n(f.peakRssMiB, 12)}  ${n(f.files, 5)}  ${n(f.bytes, 12)}`);
  }
  for (const [label, rounds] of [['ours', ours], ['Flink Kinesis', kinesis], ['ours file', oursFile], ['Flink file', file]] as const) {
    const extra = rounds[1]!.cpuSeconds - rounds[0]!.cpuSeconds;
    if (extra < STEADY_MIN_CPU_SECONDS) log(`  (${label}: steady state unreliable, the rounds differ by ${extra.toFixed(2)} s of CPU; use more --events)`);
  }
  const o = result.ours;
  const k = result.flinkKinesis;
  log(`  ours / Flink (Kinesis): whole ${(o.wholeEventsPerCpuSecond / k.wholeEventsPerCpuSecond).toFixed(2)}×, steady ${(o.steadyEventsPerCpuSecond / k.steadyEventsPerCpuSecond).toFixed(2)}×, wall ${(o.wallSeconds / k.wallSeconds).toFixed(2)}×, peak RSS ${(o.peakRssMiB / k.peakRssMiB).toFixed(2)}×, output bytes ${(o.bytes / k.bytes).toFixed(2)}×`);
  for (const [label, rounds] of [['ours', ours], ['Flink Kinesis', kinesis], ['ours file', oursFile], ['Flink file', file]] as const) {
    for (const r of rounds) log(`  ${label.padEnd(13)} ${String(r.events).padStart(7)} events: CPU ${r.cpuSeconds.toFixed(2)} s over ${r.wallSeconds.toFixed(2)} s wall; peak RSS ${r.peakRssMiB} MiB; files ${r.files}; ${r.bytes} bytes`);
  }
  log(`  read back, ours vs Flink Kinesis: ${describeComparison(oursVsFlinkKinesis, 'ours', "Flink's")}`);
  log(`  read back, ours vs Flink file:    ${oursVsFlinkFile ? describeComparison(oursVsFlinkFile, 'ours', "Flink's") : `not compared (the file rounds have ${fileCount} events, the Kinesis rounds ${count})`}`);
  log(`  read back, ours file vs Flink file: ${describeComparison(oursFileVsFlinkFile, 'ours', "Flink's")}`);
  const of = result.oursFile;
  const ff = result.flinkFile;
  log(`  ours / Flink (file): whole ${(of.wholeEventsPerCpuSecond / ff.wholeEventsPerCpuSecond).toFixed(2)}×, steady ${(of.steadyEventsPerCpuSecond / ff.steadyEventsPerCpuSecond).toFixed(2)}×, wall ${(of.wallSeconds / ff.wallSeconds).toFixed(2)}×, peak RSS ${(of.peakRssMiB / ff.peakRssMiB).toFixed(2)}×`);
  log(`  load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`);
  log(`  JSON ${JSON.stringify({ ...result, oursVsFlinkKinesis: { equal: oursVsFlinkKinesis.equal, mismatches: oursVsFlinkKinesis.mismatches }, oursVsFlinkFile: oursVsFlinkFile ? { equal: oursVsFlinkFile.equal, mismatches: oursVsFlinkFile.mismatches } : null, oursFileVsFlinkFile: { equal: oursFileVsFlinkFile.equal, mismatches: oursFileVsFlinkFile.mismatches } })}`);
  if (!oursVsFlinkKinesis.equal || oursVsFlinkFile?.equal === false || !oursFileVsFlinkFile.equal) throw new Error('the outputs differ (see the read-back lines above)');
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const events = numberFlag('--events');
  const shards = numberFlag('--shards');
  const checkpointIntervalMs = numberFlag('--checkpoint-interval');
  const fileEvents = numberFlag('--file-events');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  await runFlinkBench({ ...(events ? { events } : {}), ...(shards ? { shards } : {}), ...(checkpointIntervalMs ? { checkpointIntervalMs } : {}), ...(fileEvents ? { fileEvents } : {}) });
}
