/**
 * Restart: the processor CLI is stopped with SIGTERM midway through a replay, started again, and
 * every event ends up in the output exactly once (the final checkpoint on SIGTERM, and resuming
 * after the checkpointed positions).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import { createLogger } from '../../common/log.js';
import type { LocalServices } from '../../local/services.js';
import { replay } from '../../replay/replay.js';
import { createPipelineResources, downloadPrefix, startServicesForTest, waitFor } from '../support/local.js';
import { readParquet } from '../support/parquet.js';
import { SAMPLE_CSV, sampleFacts } from '../support/sample.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const quiet = createLogger('test', { level: 'warn' });

interface RunningCli {
  readonly child: ChildProcess;
  /** The latest eventsIn from the status lines. */
  eventsIn(): number;
  /** Resolves with the exit code and every parsed log line. */
  readonly exited: Promise<{ code: number | null; lines: Record<string, unknown>[] }>;
}

function startCli(env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/launch/etl-processor.mjs')], {
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let latest = 0;
  let buffer = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push(parsed);
        if (typeof parsed.eventsIn === 'number') latest = parsed.eventsIn;
      } catch {
        lines.push({ text: line });
      }
    }
  });
  const exited = new Promise<{ code: number | null; lines: Record<string, unknown>[] }>((resolve) => child.on('exit', (code) => resolve({ code, lines })));
  return { child, eventsIn: () => latest, exited };
}


describe('stop with SIGTERM and restart', () => {
  let services: LocalServices;
  let s3: S3Client;
  const cleanup: string[] = [];
  before(async () => {
    services = await startServicesForTest();
    s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
  });
  after(async () => {
    s3.destroy();
    await services.stop();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  test('a processor stopped midway and started again writes every event exactly once', async () => {
    // Given a stream, bucket and checkpoint table, and the processor CLI configured by environment variables
    const { stream, bucket, table } = await createPipelineResources(services, 2);
    const env = {
      ...services.env,
      InputKinesisStream: stream,
      InputStreamInitalPosition: 'TRIM_HORIZON',
      OutputBucket: bucket,
      CheckpointTable: table,
      CheckpointInterval: '1000',
      StatusInterval: '200',
      ApplicationName: 'restart-test',
    };
    const first = startCli(env);

    // When the replay is slow enough (about 11 s) to stop the processor while events still arrive, even on a loaded machine
    const replaying = replay({ input: SAMPLE_CSV, streamName: stream, speedup: 12_000, statisticsFrequencyMs: 0, progress: false, logger: quiet });
    await waitFor('the first processor to read some events', () => first.eventsIn() >= 100);
    first.child.kill('SIGTERM');
    const firstRun = await first.exited;
    const replayed = await replaying;

    // Then the first run exited cleanly, midway
    assert.equal(firstRun.code, 0, JSON.stringify(firstRun.lines.slice(-5)));
    const stopped = firstRun.lines.find((l) => l.msg === 'stopped') as { eventsIn: number } | undefined;
    assert.ok(stopped, 'the first run logged its final counts');
    assert.ok(stopped.eventsIn > 0 && stopped.eventsIn < replayed.eventsSent, `stopped midway: ${stopped.eventsIn} of ${replayed.eventsSent}`);

    // When it is started again and has read the rest
    const second = startCli(env);
    await waitFor('the second processor to read the rest', () => second.eventsIn() >= replayed.eventsSent - stopped.eventsIn);
    second.child.kill('SIGTERM');
    const secondRun = await second.exited;
    assert.equal(secondRun.code, 0);
    const stoppedAgain = secondRun.lines.find((l) => l.msg === 'stopped') as { eventsIn: number } | undefined;
    assert.equal(stoppedAgain?.eventsIn, replayed.eventsSent - stopped.eventsIn, 'the second run read only what the first had not');
    assert.ok(secondRun.lines.some((l) => l.msg === 'reading shard' && /^\d+$/.test(String(l.from))), 'the second run resumed a shard from a checkpointed sequence number');

    // Then the output holds every event exactly once
    const { dir } = await downloadPrefix(s3, bucket, 'parquet/');
    cleanup.push(dir);
    const report = await readParquet([join(dir, 'parquet')], { values: ['trip_id'] });
    const ids = report.combined.pyarrow.values?.trip_id ?? [];
    const facts = sampleFacts();
    assert.equal(ids.length, facts.rows, 'rows written');
    assert.equal(new Set(ids).size, facts.rows, 'distinct trip ids');
    assert.equal(Math.round(Number(report.combined.duckdb.columns.total_amount?.sum) * 100), facts.totalAmountCents);
  });
});
