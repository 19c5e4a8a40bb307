/**
 * Micro-benchmark of the processor's per-event hot path, in one process and without any service:
 * GetRecords response bytes -> text ({@link bodyText}) -> {@link parseGetRecordsBody} -> {@link toSourceRecords}
 * (KPL check, origins) -> decode/validate -> `SinkRecord`s -> {@link S3Sink.write} (partition
 * rendering, the partitioned writer, the parquet-wasm column builders). File finishing and
 * uploads (per-file costs) are left out: files never roll during a round. CPU per event of each
 * stage and the whole, and events per CPU-second as a ratio to `JSON.parse` of the same texts,
 * measured in the same run.
 *
 * Run: `npx tsx bench/hotpath.ts [--events 200000] [--rounds 5] [--records-per-call 2000] [--chunk N]
 * [--native | --native-body]` (`--chunk`: records decoded and written per sink call; default 1000,
 * as the pipeline does). `--native`: the S3 sink's native path instead (formats/native.ts: the addon
 * decodes and builds the columns; the stages 'decode' and 's3 write' become one, 'native write').
 * `--native-body`: as the processor runs when the S3 sink is its only sink: the addon scans each
 * response body and reads its records itself ('scan body', 'native write'), no JS parse.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { createLogger } from '../common/log.js';
import { createDecoder, createFileFormat, loadSchema } from '../processor/formats/index.js';
import type { SinkRecord } from '../processor/lifecycle.js';
import { S3Sink } from '../processor/sinks/s3/s3-sink.js';
import { NativeParquetS3Sink } from '../processor/sinks/s3/native-parquet-sink.js';
import { loadNative } from '../processor/formats/native.js';
import { DEFAULT_PARTITION_TEMPLATE } from '../processor/sinks/s3/properties.js';
import { bodyText, parseGetRecordsBody } from '../processor/sources/kinesis/get-records.js';
import { toSourceRecords } from '../processor/sources/kinesis/shard-reader.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag } from './args.js';
import { jsonParseBaseline } from './pipeline.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const STAGES = ['scan body', 'body text', 'parse body', 'source records', 'decode', 's3 write', 'native write'] as const;

/** GetRecords response bodies as kinesalite sends them (epoch-second arrival times, 56-digit sequence numbers). */
function responseBodies(texts: readonly string[], perCall: number): Buffer[] {
  const bodies: Buffer[] = [];
  for (let i = 0; i < texts.length; i += perCall) {
    const records = texts.slice(i, i + perCall).map((t, j) => ({
      Data: Buffer.from(t).toString('base64'),
      PartitionKey: String(i + j),
      SequenceNumber: (49650000000000000000000000000000000000000000000000000000n + BigInt(i + j)).toString(),
      ApproximateArrivalTimestamp: 1764000000.123 + (i + j) / 1000,
    }));
    bodies.push(Buffer.from(JSON.stringify({ Records: records, NextShardIterator: 'AAAA'.repeat(50), MillisBehindLatest: 0 })));
  }
  return bodies;
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main(): Promise<void> {
  const events = numberFlag('--events') ?? 200_000;
  const rounds = numberFlag('--rounds') ?? 5;
  const perCall = numberFlag('--records-per-call') ?? 2000;
  const chunk = numberFlag('--chunk') ?? 1000;
  const nativeBody = process.argv.includes('--native-body');
  const useNative = nativeBody || process.argv.includes('--native');
  const native = useNative ? loadNative() : undefined;
  if (native instanceof Error) throw native;
  const schema = await loadSchema('TripEvent');
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), events);
  const baseline = jsonParseBaseline(texts);
  const bodies = responseBodies(texts, perCall);
  const decode = createDecoder(schema);
  const format = await createFileFormat(schema);
  const log = createLogger('bench', { level: 'warn' });
  const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  console.log(`hot-path bench: ${events} TripEvents in ${bodies.length} GetRecords responses, ${rounds} rounds (best per stage); JSON.parse ${Math.round(baseline)}/CPU-s`);

  const best = new Map<string, number>();
  let bestTotal = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round += 1) {
    const config = {
      kind: 's3', bucket: 'bench', prefix: 'p/', errorPrefix: 'e/', format: 'parquet', parquetEncoder: useNative ? 'native' : 'parquet-wasm', parquetCompression: 'SNAPPY',
      partitionTemplate: DEFAULT_PARTITION_TEMPLATE, rolloverSizeBytes: 2 ** 40, rolloverIntervalMs: 3_600_000, inactivityIntervalMs: 3_600_000,
    } as const;
    const sink = native ? new NativeParquetS3Sink({ config, schema, native, compression: 'SNAPPY', jobStartMs: 0, client }) : new S3Sink({ config, schema, format, jobStartMs: 0, client });
    await sink.start({ runId: 'bench', log, reject: () => { throw new Error('a record was rejected by the sink'); } });
    const spent = new Map<string, number>(STAGES.map((s) => [s, 0]));
    const add = (stage: string, since: number): number => {
      const now = cpuMicros();
      spent.set(stage, (spent.get(stage) ?? 0) + now - since);
      return now;
    };
    let valid = 0;
    const start = cpuMicros();
    for (const body of bodies) {
      let t = cpuMicros();
      if (nativeBody && native && sink instanceof NativeParquetS3Sink) {
        const scanned = sink.scanKinesisBody([body]);
        if (scanned?.body === undefined || scanned.aggregated) throw new Error('a bench response did not scan');
        t = add('scan body', t);
        valid += await sink.writeKinesisBody(scanned.body, () => [], (_index, reason) => { throw new Error(reason); });
        scanned.body.release();
        add('native write', t);
        continue;
      }
      const text = bodyText(body);
      t = add('body text', t);
      const parsed = parseGetRecordsBody(text);
      if (parsed === undefined) throw new Error('a bench response did not parse');
      t = add('parse body', t);
      const records = toSourceRecords(parsed.Records ?? [], 'bench', 'shardId-000000000000', undefined);
      t = add('source records', t);
      if (sink instanceof NativeParquetS3Sink) {
        valid += await sink.writeRaw(records, (_record, reason) => { throw new Error(reason); });
        add('native write', t);
        continue;
      }
      for (let from = 0; from < records.length; from += chunk) {
        const out: SinkRecord[] = [];
        for (let i = from; i < Math.min(records.length, from + chunk); i += 1) {
          const record = records[i] as (typeof records)[number];
          const result = decode(record.data);
          if (!result.ok) throw new Error(result.reason);
          out.push({ event: result.event, raw: record.data, origin: record.origin });
        }
        valid += out.length;
        t = add('decode', t);
        await sink.write(out);
        t = add('s3 write', t);
      }
    }
    const total = cpuMicros() - start;
    if (valid !== events) throw new Error(`expected ${events} valid events, got ${valid}`);
    for (const [stage, micros] of spent) best.set(stage, Math.min(best.get(stage) ?? Number.POSITIVE_INFINITY, micros));
    bestTotal = Math.min(bestTotal, total);
    await sink.close();
  }
  client.destroy();
  console.log('  stage                 µs CPU/event');
  const shown = nativeBody ? ['scan body', 'native write'] : useNative ? ['body text', 'parse body', 'source records', 'native write'] : ['body text', 'parse body', 'source records', 'decode', 's3 write'];
  for (const stage of STAGES.filter((s) => shown.includes(s))) console.log(`  ${stage.padEnd(20)}  ${((best.get(stage) ?? 0) / events).toFixed(3)}`);
  const perSecond = events / (bestTotal / 1e6);
  console.log(`  whole (best round)    ${(bestTotal / events).toFixed(3)}   ${Math.round(perSecond)} events/CPU-s = ${(perSecond / baseline).toFixed(3)}× JSON.parse`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
