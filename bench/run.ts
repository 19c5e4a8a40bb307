/**
 * `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same
 * run (never a bare time as a verdict). Flags: --events N (pipeline, default 1000000: 250k and 1M, issue 11's sizes,
 * each twice, alternated, at the default 60 s checkpoint interval), --rows N
 * (encoders and KPL de-aggregation, default 200000), --quick (smaller sizes, for a smoke run),
 * --flink (also the side-by-side run against Apache Flink, bench/flink.ts: several minutes, and
 * about 320 MB from Maven Central on its first run; 200000 events, 20000 with --quick).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runEncoderBench } from './encoders.js';
import { runPipelineBench } from './pipeline.js';
import { runKplBench } from './kpl.js';
import { runOpenSearchBench } from './opensearch.js';
import { runGetRecordsBench } from './get-records.js';
import { runKafkaSourceBench } from './kafka-source.js';
import { KAFKA_JAVA } from '../local/kafka.js';
import { MissingToolError } from '../local/errors.js';
import { findJava, findMaven } from '../local/java.js';
import { runScaleOutBench } from './scale-out.js';
import { numberFlag } from './args.js';
import { FLINK_JAVA, runFlinkBench } from './flink.js';


const quick = process.argv.includes('--quick');
const events = numberFlag('--events') ?? (quick ? 20_000 : 1_000_000);
const rows = numberFlag('--rows') ?? (quick ? 20_000 : 200_000);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

console.log(`streaming-etl benchmarks on ${process.version}, ${(await import('node:os')).cpus().length} cores\n`);
// The read-back venv (pyarrow): the pipeline and Flink benches compare their output row for row.
execFileSync('bash', [fileURLToPath(new URL('../scripts/python-env.sh', import.meta.url))], { stdio: 'inherit' });
// Issue 11's measure: the default checkpoint interval (60 s), the median of two alternated runs per size.
await runPipelineBench({ events, ...(quick ? {} : { repeat: 2, checkpointIntervalMs: 60_000 }) });
console.log('');
// 200k and 600k: below that the steady-state difference is within the noise of three workers' fixed costs (README, Scale-out).
await runScaleOutBench({ events: quick ? 20_000 : 600_000 });
console.log('');
await runEncoderBench({ rows, liteRows: Math.min(rows, quick ? 5_000 : 20_000) });
console.log('');
await runKplBench({ records: rows });
console.log('');
await runOpenSearchBench({ documents: quick ? 5_000 : 20_000 });
await runGetRecordsBench({ calls: quick ? 5 : 20 });
try {
  findJava(KAFKA_JAVA);
  findMaven();
  await runKafkaSourceBench({ events: quick ? 10_000 : 50_000 });
} catch (error) {
  if (!(error instanceof MissingToolError)) throw error;
  console.log(`Kafka source bench skipped: ${error.message}`);
}
if (process.argv.includes('--flink')) {
  console.log('');
  // Opted in: a missing Java 17 or Maven is an error here, not a skip.
  findJava(FLINK_JAVA);
  findMaven();
  await runFlinkBench({ events: quick ? 20_000 : 200_000 });
}
