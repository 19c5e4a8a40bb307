import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/log.js';
import type { LeaseLostError} from '../../processor/checkpoint/lease-manager.js';
import { LeaseManager, leaseTimings } from '../../processor/checkpoint/lease-manager.js';
import { LeaseTable } from '../../processor/checkpoint/lease-table.js';
import { MemoryLeaseStore } from '../../processor/checkpoint/memory-store.js';
import type { HeldLease } from '../../processor/checkpoint/types.js';
import { waitFor } from '../support/local.js';

const log = createLogger('test', { level: 'silent' });

/**
 * A manager on `store` that takes leases and hands them over at once when asked (no pipeline);
 * `handOvers` gets the partitions of each hand-over (each one is a checkpoint in a processor).
 */
function manager(
  store: MemoryLeaseStore,
  runId: string,
  lost: (e: LeaseLostError) => void = () => undefined,
  handOvers: (readonly string[])[] = [],
  firstTakeDelayMs = 0,
): { leases: LeaseTable; manager: LeaseManager } {
  const leases = new LeaseTable(store, runId);
  const m = new LeaseManager({
    ...leaseTimings(600, { renewIntervalMs: 100, balanceIntervalMs: 50, firstTakeDelayMs }),
    leases,
    log,
    sync: async () => undefined,
    onTaken: async () => undefined,
    onHandOver: async (partitions) => {
      handOvers.push(partitions);
    },
    onDeadRun: async () => undefined,
    onLost: lost,
  });
  return { leases, manager: m };
}

describe('LeaseManager', () => {
  test('two runs split six leases three and three; when one closes, the other takes them all', async () => {
    const store = new MemoryLeaseStore();
    for (let i = 0; i < 6; i += 1) await store.createLease(`s${i}`, [], 'TRIM_HORIZON');
    const a = manager(store, 'a');
    await a.manager.start();
    await waitFor('a holds all six', () => a.leases.all().length === 6, 10_000);

    // When a second run starts, it asks for leases until the split is even
    const b = manager(store, 'b');
    await b.manager.start();
    await waitFor('an even split', () => a.leases.all().length === 3 && b.leases.all().length === 3, 20_000);
    const owners = (await store.listLeases()).map((l) => l.owner).sort();
    assert.deepEqual(owners, ['a', 'a', 'a', 'b', 'b', 'b']);

    // When b closes, its leases are free and a takes them
    await b.manager.close();
    await waitFor('a holds all six again', () => a.leases.all().length === 6, 10_000);
    assert.deepEqual((await store.listRuns()).map((r) => r.runId), ['a']);
    await a.manager.close();
  });

  test('runs joining a run that holds eight leases ask for their whole share at once: one hand-over, a 3/3/2 split', async (t) => {
    // Given a run holding all eight leases
    const store = new MemoryLeaseStore();
    for (let i = 0; i < 8; i += 1) await store.createLease(`s${i}`, [], 'TRIM_HORIZON');
    const handOvers: (readonly string[])[] = [];
    const a = manager(store, 'a', undefined, handOvers);
    const started = [a];
    t.after(() => Promise.all(started.map((r) => r.manager.abandon())));
    await a.manager.start();
    await waitFor('a holds all eight', () => a.leases.all().length === 8, 10_000);

    // When a second run joins
    const b = manager(store, 'b');
    started.push(b);
    await b.manager.start();
    await waitFor('an even split', () => a.leases.all().length === 4 && b.leases.all().length === 4, 20_000);
    // Then the four leases it needed came in one hand-over (one checkpoint of a's), not one by one
    assert.deepEqual(handOvers.map((h) => h.length), [4]);

    // When a third run joins
    const c = manager(store, 'c');
    started.push(c);
    await c.manager.start();
    await waitFor('every run holds two or three', () => [a, b, c].every((r) => r.leases.all().length >= 2 && r.leases.all().length <= 3), 20_000);
    // Then it stays there: no lease moves between runs whose counts differ by one
    const settled = [a, b, c].map((r) => r.leases.all().length);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual([a, b, c].map((r) => r.leases.all().length), settled);
    assert.deepEqual([...settled].sort(), [2, 3, 3]);
    for (const r of [a, b, c]) await r.manager.close();
    started.length = 0;
  });

  test('runs started together, one registering later than the others, split the leases without a hand-over', async (t) => {
    // Given eight free leases and a run that registers first
    const store = new MemoryLeaseStore();
    for (let i = 0; i < 8; i += 1) await store.createLease(`s${i}`, [], 'TRIM_HORIZON');
    const handOvers: (readonly string[])[] = [];
    const runs = ['a', 'b', 'c'].map((id) => manager(store, id, undefined, handOvers, 1000));
    t.after(() => Promise.all(runs.map((r) => r.manager.abandon())));
    await runs[0]!.manager.start();
    // When the other two register a tenth of a second later (a slower start-up), well within the
    // first run's wait before it takes any lease
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all(runs.slice(1).map((r) => r.manager.start()));
    // Then each takes its share directly: no lease is handed over (each hand-over is a checkpoint)
    await waitFor('every run holds two or three', () => runs.every((r) => r.leases.all().length >= 2 && r.leases.all().length <= 3), 20_000);
    assert.deepEqual(runs.map((r) => r.leases.all().length).sort(), [2, 3, 3]);
    assert.deepEqual(handOvers, []);
    for (const r of runs) await r.manager.close();
  });

  test('a run that stops renewing is fenced as dead, and its leases are taken', async () => {
    const store = new MemoryLeaseStore();
    for (let i = 0; i < 2; i += 1) await store.createLease(`s${i}`, [], 'TRIM_HORIZON');
    const dying = manager(store, 'dying');
    await dying.manager.start();
    await waitFor('dying holds both', () => dying.leases.all().length === 2, 10_000);
    await dying.manager.abandon();

    const dead: string[] = [];
    const heir = new LeaseTable(store, 'heir');
    const m = new LeaseManager({
      ...leaseTimings(600, { renewIntervalMs: 100, balanceIntervalMs: 50 }),
      leases: heir,
      log,
      sync: async () => undefined,
      onTaken: async () => undefined,
      onHandOver: async () => undefined,
      onDeadRun: async (runId) => {
        dead.push(runId);
      },
      onLost: () => undefined,
    });
    await m.start();
    await waitFor('the heir holds both', () => heir.all().length === 2, 10_000);
    assert.deepEqual(dead, ['dying']);
    assert.deepEqual((await store.listRuns()).map((r) => [r.runId, r.status]), [['heir', 'active']]);
    await m.close();
  });

  test('a run is fenced once: a second run with the same observation does not fence it again (so one cleans it up)', async () => {
    const store = new MemoryLeaseStore();
    await store.registerRun('dying');
    const [run] = await store.listRuns();
    assert.equal(await store.fenceRun('dying', run!.counter), true);
    assert.equal(await store.fenceRun('dying', run!.counter), false);
  });

  test('a run fenced by a newer one says that another worker took over, and which', async () => {
    // Given a run holding two leases
    const store = new MemoryLeaseStore();
    for (let i = 0; i < 2; i += 1) await store.createLease(`s${i}`, [], 'TRIM_HORIZON');
    const errors: LeaseLostError[] = [];
    const old = manager(store, 'old-run', (e) => errors.push(e));
    await old.manager.start();
    await waitFor('old-run holds both', () => old.leases.all().length === 2, 10_000);

    // When a newer run fences it and takes its leases (as after a pause longer than the lease duration)
    const run = (await store.listRuns()).find((r) => r.runId === 'old-run');
    assert.ok(await store.fenceRun('old-run', run!.counter));
    for (const partition of ['s0', 's1']) await store.claimLease(partition, 'new-run', 'TRIM_HORIZON');

    // Then the old run stops, saying who took over
    await waitFor('old-run to stop', () => errors.length > 0, 10_000);
    assert.match(errors[0]!.message, /another worker took over: run new-run holds s0, s1/);
    await old.manager.abandon();
  });

  test('a renewal that hangs stops the holder before the lease could expire for anyone else', async () => {
    // Given a store whose renewals stop answering after the lease is taken
    const store = new MemoryLeaseStore();
    await store.createLease('s0', [], 'TRIM_HORIZON');
    let hang = false;
    const renew = store.renewLease.bind(store);
    store.renewLease = async (lease: HeldLease, runId: string) => (hang ? new Promise<never>(() => undefined) : renew(lease, runId));
    const errors: LeaseLostError[] = [];
    const { leases, manager: m } = manager(store, 'a', (e) => errors.push(e));
    await m.start();
    await waitFor('the lease taken', () => leases.all().length === 1, 10_000);

    // When renewals hang, and another run waits for the lease to expire
    hang = true;
    const other = manager(store, 'b');
    await other.manager.start();
    await waitFor('the other run to take the lease', () => other.leases.all().length === 1, 10_000);

    // Then the first run had given up by itself before that, naming why
    assert.equal(errors.length, 1, 'the first run stopped before the lease could be taken');
    assert.match(errors[0]!.message, /no lease renewal succeeded/);
    await m.abandon();
    await other.manager.close();
  });
});
