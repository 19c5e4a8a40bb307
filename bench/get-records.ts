/**
 * GetRecords on the client side: the SDK's deserializer against processor/sources/kinesis/get-records.ts
 * (the same client stack: signing, retries, endpoint; only the 2xx body parse differs). The HTTP
 * handler answers every call with one prepared body of 10,000 TripEvent records, so the figure is
 * the client's CPU per record, nothing of a server's. Rounds alternate between the two and the best
 * of each is kept; the ratio is fast/SDK in records per CPU-second, with `JSON.parse` of the same
 * events (records per CPU-second) as the common baseline.
 *
 * Run: `npx tsx bench/get-records.ts [--calls 20]`, or via `npm run bench`.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GetRecordsCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { fastGetRecordsCommand } from '../processor/sources/kinesis/get-records.js';
import { makeEventTexts, sampleTripEvents } from './encoders.js';
import { numberFlag } from './args.js';
import { jsonParseBaseline } from './pipeline.js';
import { cpuSeconds } from './measure.js';

const SAMPLE = fileURLToPath(new URL('../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));
const PER_CALL = 10_000;

/** The results of {@link runGetRecordsBench}: records per CPU-second. */
export interface GetRecordsBenchResult {
  readonly baseline: number;
  readonly sdk: number;
  readonly fast: number;
  readonly ratio: number;
}

/** Runs the GetRecords client benchmark and prints its lines. */
export async function runGetRecordsBench(options: { calls?: number; log?: (line: string) => void } = {}): Promise<GetRecordsBenchResult> {
  const calls = options.calls ?? 20;
  const log = options.log ?? ((line: string) => console.log(line));
  const texts = makeEventTexts(sampleTripEvents(readFileSync(SAMPLE, 'utf8')), PER_CALL);
  const baseline = jsonParseBaseline(texts);
  const arrival = Date.now() / 1000;
  const body = Buffer.from(
    JSON.stringify({
      MillisBehindLatest: 0,
      NextShardIterator: 'AAAAAAAAAAH'.repeat(20),
      Records: texts.map((t, i) => ({ ApproximateArrivalTimestamp: arrival + i / 1000, Data: Buffer.from(t).toString('base64'), PartitionKey: String(i), SequenceNumber: `4959033827149025660855969253836157109592157598913658${String(i).padStart(4, '0')}` })),
    }),
  );
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async () => ({ response: { statusCode: 200, reason: 'OK', headers: { 'content-type': 'application/x-amz-json-1.1' }, body: Readable.from([body]) } }),
    },
  });
  const run = async (fast: boolean): Promise<number> => {
    let bytes = 0;
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i += 1) {
      const input = { ShardIterator: 'it', Limit: PER_CALL };
      const out = await client.send(fast ? fastGetRecordsCommand(input) : new GetRecordsCommand(input));
      for (const r of out.Records ?? []) bytes += r.Data?.length ?? 0;
    }
    const rate = (calls * PER_CALL) / cpuSeconds(start);
    if (bytes !== calls * texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0)) throw new Error('the records came back wrong');
    return rate;
  };
  await run(false);
  await run(true);
  let sdk = 0;
  let fast = 0;
  for (let round = 0; round < 3; round += 1) {
    sdk = Math.max(sdk, await run(false));
    fast = Math.max(fast, await run(true));
  }
  client.destroy();
  const result = { baseline, sdk, fast, ratio: fast / sdk };
  log(`GetRecords client bench: ${calls} calls of ${PER_CALL} TripEvent records (${(body.length / 1e6).toFixed(1)} MB each), no server`);
  log('  measure                                   records/CPU-s   × JSON.parse   × SDK');
  log(`  baseline: JSON.parse of the events        ${String(Math.round(baseline)).padStart(13)}   1.000`);
  log(`  SDK deserializer                          ${String(Math.round(sdk)).padStart(13)}   ${(sdk / baseline).toFixed(3).padStart(10)}   1.000`);
  log(`  get-records.ts (spans + base64)           ${String(Math.round(fast)).padStart(13)}   ${(fast / baseline).toFixed(3).padStart(10)}   ${result.ratio.toFixed(3)}`);
  log(`  JSON ${JSON.stringify(result)}`);
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const calls = numberFlag('--calls');
  await runGetRecordsBench({ ...(calls ? { calls } : {}) });
}
