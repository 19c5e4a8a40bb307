/**
 * `npm run soak [-- --kills N --workers N --shards N --seed N]`: the kill -9 soak (see
 * test/support/soak.ts) on fresh local services (kinesalite, moto's DynamoDB and S3): N random
 * SIGKILLs (default 100) across the workers while events keep arriving, some placed right after a
 * checkpoint phase; then every event is checked to be in S3 exactly once, in its partition, with
 * no upload left open. Prints progress on stderr and one JSON summary on stdout; exits 1 if the
 * output is not exact.
 */
import { parseArgs } from 'node:util';
import { startServicesForTest } from '../test/support/local.js';
import { runSoak } from '../test/support/soak.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { values } = parseArgs({
  options: { kills: { type: 'string', default: '100' }, workers: { type: 'string', default: '3' }, shards: { type: 'string', default: '8' }, seed: { type: 'string', default: '1' } },
});
const number = (name: string, raw: string | undefined): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
};
const kills = number('kills', values.kills);
const services = await startServicesForTest({ s3: 'moto' });
const log = (line: string): void => {
  process.stderr.write(`soak ${new Date().toISOString()} ${line}\n`);
};
try {
  const summary = await runSoak({ services, kills, workers: number('workers', values.workers), shards: number('shards', values.shards), seed: number('seed', values.seed), progress: log, drainTimeoutMs: 600_000 });
  const { output, ...figures } = summary;
  process.stdout.write(
    `${JSON.stringify({ ...figures, durationS: Math.round(summary.durationMs / 1000), sampleMissing: output.missing.slice(0, 10), sampleDuplicates: output.duplicates.slice(0, 10) }, null, 2)}\n`,
  );
  const exact = summary.missing === 0 && summary.duplicates === 0 && summary.unexpected === 0 && summary.misplaced === 0 && summary.openUploads === 0 && summary.uncommittedRecords === 0;
  process.exitCode = exact ? 0 : 1;
} finally {
  await services.stop();
}
