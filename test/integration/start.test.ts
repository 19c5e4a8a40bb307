/**
 * The newcomer's command: `npm start` (scripts/start.ts) runs the whole pipeline on embedded
 * services and prints a summary; its committed Parquet files read back with pyarrow and DuckDB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readParquet } from '../support/parquet.js';
import { kafkaSkipReason } from '../support/kafka.js';
import { openSearchSkipReason } from '../support/opensearch.js';
import { sampleFacts } from '../support/sample.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('npm start replays the sample end to end and leaves the partitioned Parquet in the output folder', async () => {
  // Given an empty output folder
  const output = await mkdtemp(join(tmpdir(), 'etl-start-'));
  try {
    // When the start script runs (as `npm start -- --json --output DIR` would)
    // (without the variable that silences the AWS SDK's Node-version warning: npm start hides it itself)
    const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _silenced, ...userEnv } = process.env;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/start.ts'), '--json', '--output', output], {
      cwd: ROOT,
      env: { ...userEnv, LOG_LEVEL: 'warn' },
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.doesNotMatch(stderr, /NodeVersionSupportWarning/);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number | string>;

    // Then the summary counts every event and names where the files are...
    const facts = sampleFacts();
    assert.equal(summary.eventsReplayed, facts.rows);
    assert.equal(summary.eventsWritten, facts.rows);
    assert.equal(summary.eventsRejected, 0);
    assert.ok(Number(summary.parquetFiles) >= Number(summary.partitions) && Number(summary.partitions) > 1);
    assert.equal(summary.output, join(output, 'parquet/'));
    // ... and the files there hold exactly the sample
    const report = await readParquet([String(summary.output)]);
    assert.equal(report.combined.files, summary.parquetFiles);
    assert.equal(report.combined.duckdb.rows, facts.rows);
    assert.equal(Math.round(Number(report.combined.pyarrow.columns.total_amount?.sum) * 100), facts.totalAmountCents);
  } finally {
    await rm(output, { recursive: true, force: true });
  }
});

test('npm start -- --source kafka replays the sample through a real local Kafka broker, every event exactly once in the Parquet', { skip: kafkaSkipReason() }, async () => {
  // Given an empty output folder
  const output = await mkdtemp(join(tmpdir(), 'etl-start-kafka-'));
  try {
    // When the start script runs with the Kafka source (as `npm start -- --source kafka --json --output DIR` would)
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/start.ts'), '--source', 'kafka', '--json', '--output', output], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number | string>;

    // Then the summary counts every event once...
    const facts = sampleFacts();
    assert.equal(summary.eventsReplayed, facts.rows);
    assert.equal(summary.eventsWritten, facts.rows);
    assert.equal(summary.eventsRejected, 0);
    assert.ok(Number(summary.parquetFiles) >= Number(summary.partitions) && Number(summary.partitions) > 1);
    assert.equal(summary.output, join(output, 'parquet/'));
    // ... and the committed files hold exactly the sample: no event lost, none twice
    const report = await readParquet([String(summary.output)], { distinct: ['trip_id'] });
    assert.equal(report.combined.files, summary.parquetFiles);
    assert.equal(report.combined.duckdb.rows, facts.rows);
    assert.equal(report.combined.duckdb.distinct?.trip_id?.length, facts.rows, 'no trip twice');
    assert.equal(Math.round(Number(report.combined.pyarrow.columns.total_amount?.sum) * 100), facts.totalAmountCents);
  } finally {
    await rm(output, { recursive: true, force: true });
  }
});

test('npm start -- --opensearch also writes every event to a local OpenSearch node and prints the documents per index', { skip: openSearchSkipReason() }, async () => {
  // Given an empty output folder
  const output = await mkdtemp(join(tmpdir(), 'etl-start-os-'));
  try {
    // When the start script runs with --opensearch
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/start.ts'), '--opensearch', '--json', '--output', output], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { eventsWritten: number; openSearch?: { documentsWritten: number; documentsPerIndex: Record<string, number> } };

    // Then S3 and OpenSearch both hold every sample trip, all in the index "trip"
    const facts = sampleFacts();
    assert.equal(summary.eventsWritten, facts.rows);
    assert.equal(summary.openSearch?.documentsWritten, facts.rows);
    assert.deepEqual(summary.openSearch?.documentsPerIndex, { trip: facts.rows });
  } finally {
    await rm(output, { recursive: true, force: true });
  }
});

test('npm start -- --bogus exits 2 and points at npm start -- --help', async () => {
  const failed = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/start.ts'), '--bogus'], { cwd: ROOT }).then(
    () => undefined,
    (error: unknown) => error as { code: number; stderr: string },
  );
  assert.equal(failed?.code, 2);
  assert.match(failed.stderr, /unknown flag "--bogus"/);
  assert.match(failed.stderr, /Run "npm start -- --help"/);
});
