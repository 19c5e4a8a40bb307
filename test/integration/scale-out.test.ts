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
import { DescribeStreamSummaryCommand, ListShardsCommand, MergeShardsCommand, SplitShardCommand, type Shard } from '@aws-sdk/client-kinesis';
import type { LocalServices } from '../../local/services.js';
import { startCliProcessor, tailLines, type CliProcessor } from '../support/cli-processor.js';
import { createPipelineResources, startServicesForTest, uniqueName, waitUntil } from '../support/local.js';
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
      assert.equal(exit.code, 0, `a worker stopped with SIGTERM exits 0:\n${tailLines(exit.lines, 8)}`);
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
    // What it left open (a checkpoint may have completed the upload seen above just before the kill).
    const leftOpen = (await openUploads(clients.s3, r.bucket)).filter((k) => k.includes(`part-${victimId}-`));

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
    const cleanups = survivors.flatMap((w) => w.find('cleaned up a dead run')).filter((l) => l.run === victimId);
    assert.ok(cleanups.length >= 1, 'a survivor cleaned up the dead run');
    // Each upload it left open was either in a persisted checkpoint (completed) or aborted: none stays open.
    assert.ok(Number(cleanups[0]!.aborted) <= leftOpen.length, `aborted ${String(cleanups[0]!.aborted)} of the ${leftOpen.length} uploads left open`);
    assert.deepEqual(await openUploads(clients.s3, r.bucket), [], 'no upload is left open');
    assert.deepEqual(await uncommittedRecords(clients.dynamo, r.table, r.application), []);
    await assertExactOutput(t, r.bucket, producer.ids);
  });

  test('one worker, then three, then one again: the leases rebalance each time and the output stays exact', async (t) => {
    // Given one worker on an 8-shard stream, owning every lease, while events keep arriving. No
    // worker dies here, so a longer lease costs nothing and keeps the lone worker's renewals of
    // eight leases safe while two new processes start on the same (2-core) machine.
    const r = await setUp(8);
    const env = r.env({ LeaseDuration: '8000' });
    const first = start(env);
    await waitUntil('its run id', async () => first.runId() !== undefined);
    const firstId = runIdOf(first);
    const owned = async (): Promise<Map<string, number>> => leasesPerOwner(await readLeases(clients.dynamo, r.table, r.application));
    await waitUntil('the lone worker to own all 8 leases', async () => (await owned()).get(firstId) === 8);
    const producer = new Producer(clients.kinesis, r.stream);
    const producing = keepProducing(producer, 0, 30);
    t.after(() => producing.stop());

    // When two more workers join
    const added = [start(env), start(env)] as const;
    await waitUntil('their run ids', async () => added.every((w) => w.runId() !== undefined));
    const ids = [firstId, ...added.map(runIdOf)];
    // Then the leases spread over the three
    await waitUntil(
      'each of the three workers to hold 2 to 4 leases',
      async () => {
        const per = await owned();
        return ids.every((id) => (per.get(id) ?? 0) >= 2 && (per.get(id) ?? 0) <= 4);
      },
      120_000,
    );
    await waitUntil('the added workers to read events', async () => added.every((w) => w.eventsIn() > 0));

    // When two of them stop (the first one and one that joined)
    const [stays, leaves] = added;
    await stopAll([first, leaves]);
    // Then the remaining worker takes every lease back
    const staysId = runIdOf(stays);
    await waitUntil('the remaining worker to own all 8 leases', async () => (await owned()).get(staysId) === 8, 60_000);

    // And once the input stops, every event was read once and written once
    await new Promise((res) => setTimeout(res, 1000));
    await producing.stop();
    await waitUntil('every shard checkpointed past its last event', async () => caughtUp(await readLeases(clients.dynamo, r.table, r.application), producer.lastSequence));
    await stopAll([stays]);
    const read = [first, stays, leaves].map((w) => Number(w.find('stopped')[0]?.eventsIn ?? -1));
    assert.equal(read.reduce((a, b) => a + b, 0), producer.ids.length, `records read per worker: ${read.join(', ')}`);
    await assertExactOutput(t, r.bucket, producer.ids);
  });

  test('a shard split and two shards merged while three workers run: each child starts after its parents ended, output exact', async (t) => {
    // Given three workers on a 4-shard stream, events arriving
    const r = await setUp(4);
    const workers = [start(r.env()), start(r.env()), start(r.env())];
    await waitUntil('the run ids', async () => workers.every((w) => w.runId() !== undefined));
    await waitUntil('every lease owned', async () => {
      const leases = await readLeases(clients.dynamo, r.table, r.application);
      return leases.length === 4 && leases.every((l) => l.owner !== undefined);
    });
    const producer = new Producer(clients.kinesis, r.stream);
    const producing = keepProducing(producer, 0, 30);
    t.after(() => producing.stop());
    await waitUntil('some events put', async () => producer.ids.length >= 600);

    // When shard 0 is split and shards 2 and 3 are merged
    const listShards = async (): Promise<Shard[]> => (await clients.kinesis.send(new ListShardsCommand({ StreamName: r.stream }))).Shards ?? [];
    const active = async (): Promise<boolean> => (await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: r.stream }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
    const original = await listShards();
    const [s0, , s2, s3] = original as [Shard, Shard, Shard, Shard];
    const start0 = BigInt(s0.HashKeyRange!.StartingHashKey!);
    const end0 = BigInt(s0.HashKeyRange!.EndingHashKey!);
    await clients.kinesis.send(new SplitShardCommand({ StreamName: r.stream, ShardToSplit: s0.ShardId!, NewStartingHashKey: String((start0 + end0) / 2n) }));
    await waitUntil('the stream to be active after the split', active);
    await clients.kinesis.send(new MergeShardsCommand({ StreamName: r.stream, ShardToMerge: s2.ShardId!, AdjacentShardToMerge: s3.ShardId! }));
    await waitUntil('the stream to be active after the merge', active);
    await new Promise((res) => setTimeout(res, 3000));
    await producing.stop();

    // Then the children are read once their parents ended, and everything is read
    const children = (await listShards()).filter((s) => !original.some((o) => o.ShardId === s.ShardId));
    assert.equal(children.length, 3, 'two children of the split, one of the merge');
    const parentsOf = new Map(children.map((c) => [c.ShardId!, [c.ParentShardId, c.AdjacentParentShardId].filter((p): p is string => !!p).sort()]));
    assert.ok(children.every((c) => producer.lastSequence.has(c.ShardId!)), 'events were put on every child shard');
    await waitUntil('every shard, children included, checkpointed past its last event', async () => caughtUp(await readLeases(clients.dynamo, r.table, r.application), producer.lastSequence), 90_000);
    await stopAll(workers);

    // The lease table: each child names its parents, and every parent was read to its end
    const leases = new Map((await readLeases(clients.dynamo, r.table, r.application)).map((l) => [l.shard, l]));
    for (const [child, parents] of parentsOf) {
      assert.deepEqual([...(leases.get(child)?.parents ?? [])].sort(), parents, `parents of ${child}`);
      for (const p of parents) assert.equal(leases.get(p)?.checkpoint, 'SHARD_END', `parent ${p} of ${child} ended`);
    }
    // The logs of every worker: each child's first read comes after each parent's end was read and its lease released
    const lines = workers.flatMap((w) => w.lines);
    const times = (msg: string, shardKey: string, shard: string): number[] => lines.filter((l) => l.msg === msg && l[shardKey] === shard).map((l) => Date.parse(String(l.time)));
    for (const [child, parents] of parentsOf) {
      const firstRead = Math.min(...times('reading shard', 'shard', child));
      assert.ok(Number.isFinite(firstRead), `${child} was read`);
      for (const p of parents) {
        const ended = Math.max(...times('shard read to its end', 'shard', p));
        const released = Math.max(...times('lease released', 'partition', p));
        assert.ok(Number.isFinite(ended) && ended <= firstRead, `${child} first read at ${new Date(firstRead).toISOString()}, its parent ${p} ended at ${new Date(ended).toISOString()}`);
        assert.ok(Number.isFinite(released) && released <= firstRead, `${child} first read before its parent ${p}'s lease was released after its last checkpoint`);
      }
      const created = lines.find((l) => l.msg === 'lease created' && l.shard === child);
      assert.ok(created, `the lease of ${child} was created`);
      assert.equal(created.checkpoint, 'TRIM_HORIZON');
    }
    const read = workers.map((w) => Number(w.find('stopped')[0]?.eventsIn ?? -1));
    assert.equal(read.reduce((a, b) => a + b, 0), producer.ids.length, `records read per worker: ${read.join(', ')}`);
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
