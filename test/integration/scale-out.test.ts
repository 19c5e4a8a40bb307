/**
 * Scale-out (issue 6, "Proof"): several processor CLI processes on one stream, coordinated only
 * through the lease table (moto's DynamoDB), writing Parquet to moto's S3 (which has
 * ListMultipartUploads and AbortMultipartUpload). Every test reads the output back with pyarrow
 * and checks each generated trip id is there exactly once, in its partition, with no upload left
 * open; ownership is read straight from the lease table.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalServices } from '../../local/services.js';
import { startCliProcessor, type CliProcessor, type LogLine } from '../support/cli-processor.js';
import { createPipelineResources, startServicesForTest, uniqueName } from '../support/local.js';
import {
  caughtUp,
  checkOutput,
  leasesPerOwner,
  openUploads,
  Producer,
  readLeases,
  readRuns,
  testClients,
  uncommittedRecords,
  workerEnv,
} from '../support/scale-out.js';
import { KILL_PHASES, runSoak } from '../support/soak.js';

const LEASE_MS = 5000;

/** Polls an async condition until it holds; fails naming `what` after `timeoutMs`. */
async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Puts `perTick` new events every 100 ms until stopped. */
function keepProducing(producer: Producer, firstId: number, perTick: number): { stop(): Promise<number> } {
  let next = firstId;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const ids = Array.from({ length: perTick }, (_, i) => next + i);
      next += perTick;
      await producer.put(ids);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return next;
    },
  };
}

function runIdOf(worker: CliProcessor): string {
  const id = worker.runId();
  assert.ok(id, 'the worker logged its run id');
  return id;
}

/** The last log line's text of a worker, for failure messages. */
function tail(lines: readonly LogLine[], n = 8): string {
  return lines
    .slice(-n)
    .map((l) => JSON.stringify(l))
    .join('\n');
}

describe('scale-out: several processors on one stream', () => {
  let services: LocalServices;
  let clients: ReturnType<typeof testClients>;
  const running: CliProcessor[] = [];

  before(async () => {
    services = await startServicesForTest({ s3: 'moto' });
    clients = testClients();
  });
  after(async () => {
    for (const w of running) w.kill('SIGKILL');
    await Promise.all(running.map((w) => w.exited));
    // SCALE_OUT_LOG_DIR=dir keeps every worker's log lines, one file per worker, for debugging.
    const logDir = process.env.SCALE_OUT_LOG_DIR;
    if (logDir) {
      await mkdir(logDir, { recursive: true });
      for (const [i, w] of running.entries()) await writeFile(join(logDir, `worker-${i}-${w.runId() ?? 'unknown'}.log`), w.lines.map((l) => JSON.stringify(l)).join('\n'));
    }
    clients.destroy();
    await services.stop();
  });

  async function setUp(shards: number): Promise<{ stream: string; bucket: string; table: string; application: string; env: (extra?: Record<string, string>) => Record<string, string> }> {
    const resources = { ...(await createPipelineResources(services, shards)), application: uniqueName('app') };
    return { ...resources, env: (extra = {}) => workerEnv(services.env, resources, extra) };
  }

  function start(env: Record<string, string>): CliProcessor {
    const worker = startCliProcessor(env);
    running.push(worker);
    return worker;
  }

  async function stopAll(workers: readonly CliProcessor[]): Promise<void> {
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) {
      const exit = await w.exited;
      assert.equal(exit.code, 0, `a worker stopped with SIGTERM exits 0:\n${tail(exit.lines)}`);
    }
  }

  async function assertExactOutput(t: TestContext, bucket: string, ids: readonly number[]): Promise<void> {
    const out = await checkOutput(clients.s3, bucket, ids);
    t.diagnostic(`output: ${out.rows} rows in ${out.files} files for ${out.expected} events`);
    assert.deepEqual(out.missing.slice(0, 20), [], `${out.missing.length} events missing`);
    assert.deepEqual(out.duplicates.slice(0, 20), [], `${out.duplicates.length} events written more than once`);
    assert.deepEqual(out.unexpected, []);
    assert.deepEqual(out.misplaced.slice(0, 20), [], 'rows in another partition than their event names');
    assert.equal(out.rows, ids.length);
    assert.deepEqual(await openUploads(clients.s3, bucket), [], 'no multipart upload left open');
  }

  test('three processors on an 8-shard stream share the leases and write every event exactly once', async (t) => {
    // Given an 8-shard stream and three processors
    const r = await setUp(8);
    const workers = [start(r.env()), start(r.env()), start(r.env())];
    await waitUntil('the three workers to log their run ids', async () => workers.every((w) => w.runId() !== undefined));
    const ids = workers.map(runIdOf);

    // When they have balanced the leases
    const balanced = async (): Promise<boolean> => {
      const per = leasesPerOwner(await readLeases(clients.dynamo, r.table, r.application));
      return ids.every((id) => (per.get(id) ?? 0) >= 2 && (per.get(id) ?? 0) <= 4) && !per.has('');
    };
    await waitUntil('each worker to hold 2 to 4 of the 8 leases', balanced, 90_000);

    // And events arrive on every shard
    const producer = new Producer(clients.kinesis, r.stream);
    for (let i = 0; i < 6; i += 1) {
      await producer.put(Array.from({ length: 500 }, (_, j) => i * 500 + j));
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(producer.lastSequence.size, 8, 'events were put on all 8 shards');
    await waitUntil('every shard checkpointed past its last event', async () => caughtUp(await readLeases(clients.dynamo, r.table, r.application), producer.lastSequence));

    // Then the leases are still shared about evenly (no ping-pong while reading)
    const leases = await readLeases(clients.dynamo, r.table, r.application);
    const per = leasesPerOwner(leases);
    t.diagnostic(`leases per worker: ${ids.map((id) => per.get(id) ?? 0).join(', ')}`);
    for (const id of ids) assert.ok((per.get(id) ?? 0) >= 2 && (per.get(id) ?? 0) <= 4, `worker ${id} holds ${per.get(id) ?? 0} of 8 leases`);

    // And after a clean stop every event is in S3 exactly once, and was read exactly once
    await stopAll(workers);
    const read = workers.map((w) => Number(w.find('stopped')[0]?.eventsIn ?? -1));
    assert.ok(read.every((n) => n > 0), `every worker read events: ${read.join(', ')}`);
    assert.equal(read.reduce((a, b) => a + b, 0), producer.ids.length, 'the workers together read each record once');
    await assertExactOutput(t, r.bucket, producer.ids);
    assert.deepEqual(await readRuns(clients.dynamo, r.table, r.application), [], 'stopped runs removed themselves');
  });

  test('a worker killed with SIGKILL: its leases move to the others, its open uploads are aborted, output stays exact', async (t) => {
    // Given three balanced workers with uploads open between checkpoints (files roll on inactivity)
    const r = await setUp(8);
    const env = r.env({ CheckpointInterval: '2500' });
    const workers = [start(env), start(env), start(env)];
    await waitUntil('the run ids', async () => workers.every((w) => w.runId() !== undefined));
    const ids = workers.map(runIdOf);
    await waitUntil(
      'each worker to hold 2 to 4 leases',
      async () => {
        const per = leasesPerOwner(await readLeases(clients.dynamo, r.table, r.application));
        return ids.every((id) => (per.get(id) ?? 0) >= 2 && (per.get(id) ?? 0) <= 4);
      },
      90_000,
    );
    const producer = new Producer(clients.kinesis, r.stream);
    const producing = keepProducing(producer, 0, 40);
    t.after(() => producing.stop());

    // When one is killed with SIGKILL while it has an upload open
    const [victim, ...survivors] = workers as [CliProcessor, CliProcessor, CliProcessor];
    const victimId = runIdOf(victim);
    await waitUntil('the victim to read events', async () => victim.eventsIn() > 100);
    await waitUntil('the victim to have an upload open', async () => (await openUploads(clients.s3, r.bucket)).some((k) => k.includes(`part-${victimId}-`)));
    const before = await readLeases(clients.dynamo, r.table, r.application);
    const itsShards = before.filter((l) => l.owner === victimId).map((l) => l.shard);
    assert.ok(itsShards.length >= 2);
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    const exit = await victim.exited;
    assert.equal(exit.signal, 'SIGKILL');

    // Then the survivors take its leases over within a few lease durations (generous bound)
    const survivorIds = survivors.map(runIdOf);
    await waitUntil(
      "the victim's shards to be owned by the survivors",
      async () => {
        const leases = await readLeases(clients.dynamo, r.table, r.application);
        return itsShards.every((s) => survivorIds.includes(leases.find((l) => l.shard === s)?.owner ?? ''));
      },
      10 * LEASE_MS,
    );
    t.diagnostic(`its ${itsShards.length} leases moved ${Date.now() - killedAt} ms after the kill (lease duration ${LEASE_MS} ms)`);
    const after = leasesPerOwner(await readLeases(clients.dynamo, r.table, r.application));
    assert.equal((after.get(survivorIds[0]!) ?? 0) + (after.get(survivorIds[1]!) ?? 0), 8, 'the two survivors own all 8 leases');

    // And once the input stops and everything is read, nothing is lost, doubled or left open
    await new Promise((res) => setTimeout(res, 1000));
    await producing.stop();
    await waitUntil('every shard checkpointed past its last event', async () => caughtUp(await readLeases(clients.dynamo, r.table, r.application), producer.lastSequence));
    await waitUntil('the dead run to be cleaned up', async () => !(await readRuns(clients.dynamo, r.table, r.application)).includes(victimId));
    await stopAll(survivors);
    assert.ok(survivors.some((w) => w.find('cleaned up a dead run').some((l) => l.run === victimId && Number(l.aborted) >= 1)), 'a survivor aborted the open uploads of the dead run');
    assert.deepEqual(await uncommittedRecords(clients.dynamo, r.table, r.application), []);
    await assertExactOutput(t, r.bucket, producer.ids);
  });

  test('kill -9 soak: 20 SIGKILLs across three workers, some right after each checkpoint phase, while events keep arriving', async (t) => {
    // Given three workers and a steady input, when workers are killed at random and inside each checkpoint phase
    const summary = await runSoak({ services, kills: 20, progress: (line) => t.diagnostic(line) });
    const { output, ...figures } = summary;
    t.diagnostic(JSON.stringify(figures));
    // Then the kills happened, including inside every phase
    assert.ok(summary.kills >= 20);
    for (const phase of KILL_PHASES) assert.ok(summary.phaseKills[phase] >= 1, `kills after the ${phase} phase: ${summary.phaseKills[phase]}`);
    // And every valid event is in S3 exactly once, in its partition, with nothing left open or uncommitted
    assert.ok(summary.events > 1000, `events put: ${summary.events}`);
    assert.deepEqual(output.missing.slice(0, 20), [], `${output.missing.length} events missing`);
    assert.deepEqual(output.duplicates.slice(0, 20), [], `${output.duplicates.length} events written more than once`);
    assert.deepEqual(output.unexpected, []);
    assert.deepEqual(output.misplaced.slice(0, 20), []);
    assert.equal(summary.rows, summary.events);
    assert.equal(summary.openUploads, 0, 'no multipart upload left open');
    assert.equal(summary.uncommittedRecords, 0, 'every persisted checkpoint was committed');
  });
});
