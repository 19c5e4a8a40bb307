import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/log.js';
import { CheckpointCoordinator } from '../../processor/checkpoint/coordinator.js';
import { CheckpointError, FencedError, IllegalCheckpointStateError } from '../../processor/checkpoint/errors.js';
import { LeaseTable } from '../../processor/checkpoint/lease-table.js';
import { MemoryLeaseStore } from '../../processor/checkpoint/memory-store.js';
import { BaseSink, type SinkRecord } from '../../processor/lifecycle.js';

const log = createLogger('test', { level: 'silent' });

interface Files {
  readonly files: string[];
}

/** A sink that records the calls made to it, in one shared journal. */
class JournalSink extends BaseSink<Files> {
  readonly name: string;
  readonly #journal: string[];
  readonly #failPreCommit: boolean;
  readonly committed = new Set<string>();
  aborted: string[] = [];

  constructor(name: string, journal: string[], options: { failPreCommit?: boolean } = {}) {
    super();
    this.name = name;
    this.#journal = journal;
    this.#failPreCommit = options.failPreCommit ?? false;
  }
  async write(_records: readonly SinkRecord[]): Promise<void> {}
  override async preCommit(id: number): Promise<Files> {
    this.#journal.push(`${this.name}.preCommit(${id})`);
    if (this.#failPreCommit) throw new Error(`${this.name} cannot pre-commit`);
    return { files: [`${this.name}-${id}`] };
  }
  override async commit(pending: Files, id: number, recovering: boolean): Promise<number> {
    this.#journal.push(`${this.name}.commit(${id},${pending.files.join()}${recovering ? ',recovering' : ''})`);
    const fresh = pending.files.filter((f) => !this.committed.has(f));
    for (const f of fresh) this.committed.add(f);
    return fresh.length;
  }
  override async abortLeftovers(runId: string, kept: readonly Files[]): Promise<number> {
    this.aborted.push(`${runId}:${kept.flatMap((k) => k.files).join()}`);
    return 1;
  }
}

/** A store with `partitions` leases, all held by run `runId`. */
async function holding(store: MemoryLeaseStore, runId: string, partitions: readonly string[]): Promise<LeaseTable> {
  const leases = new LeaseTable(store, runId);
  await store.registerRun(runId);
  for (const p of partitions) {
    await store.createLease(p, [], 'TRIM_HORIZON');
    const [item] = (await store.listLeases()).filter((l) => l.partition === p);
    const taken = await store.takeLease(item!, runId);
    leases.add(taken!.held);
  }
  return leases;
}

describe('CheckpointCoordinator', () => {
  test('pre-commits every sink, persists under the leases, then commits, in that order', async () => {
    // Given a run holding one lease and two sinks
    const journal: string[] = [];
    const store = new MemoryLeaseStore();
    const persist = store.persist.bind(store);
    store.persist = async (runId, id, leases, pending) => {
      journal.push(`persist(${id},${leases.map((l) => `${l.lease.partition}=${l.position}`).join()})`);
      return persist(runId, id, leases, pending);
    };
    const leases = await holding(store, 'w1', ['shard-1']);
    const a = new JournalSink('a', journal);
    const coordinator = new CheckpointCoordinator({ leases, sinks: [a, new JournalSink('b', journal)], log });

    // When a checkpoint is taken
    const result = await coordinator.checkpoint(new Map([['shard-1', '42']]));

    // Then the phases ran in protocol order, the lease holds the position, and the state is idle again
    assert.equal(result.checkpointId, 1);
    assert.deepEqual(journal, ['a.preCommit(1)', 'b.preCommit(1)', 'persist(1,shard-1=42)', 'a.commit(1,a-1)', 'b.commit(1,b-1)']);
    assert.equal(coordinator.state, 'idle');
    const [lease] = await store.listLeases();
    assert.equal(lease?.checkpoint, '42');
    assert.equal((await store.loadCommit(lease!.pendingRef!))?.committed, true);
    assert.deepEqual(coordinator.eventsOut, { a: 1, b: 1 });
    assert.equal((await coordinator.checkpoint(new Map([['shard-1', '43']]))).checkpointId, 2);
  });

  test('a failed pre-commit persists nothing, commits nothing, and leaves the coordinator failed', async () => {
    const journal: string[] = [];
    const store = new MemoryLeaseStore();
    const leases = await holding(store, 'w1', ['s']);
    const coordinator = new CheckpointCoordinator({ leases, sinks: [new JournalSink('a', journal, { failPreCommit: true })], log });

    await assert.rejects(coordinator.checkpoint(new Map([['s', '1']])), (e: unknown) => e instanceof CheckpointError && /while pre-committing/.test(e.message));
    assert.deepEqual(journal, ['a.preCommit(1)']);
    assert.equal((await store.listLeases())[0]?.checkpoint, 'TRIM_HORIZON');
    assert.equal(coordinator.state, 'failed');
    await assert.rejects(coordinator.checkpoint(new Map()), IllegalCheckpointStateError);
  });

  test('a run that lost a lease cannot persist: nothing of its checkpoint is committed or written', async () => {
    // Given a run holding two leases, one of which another run then takes
    const journal: string[] = [];
    const store = new MemoryLeaseStore();
    const leases = await holding(store, 'w1', ['s1', 's2']);
    const [, s2] = await store.listLeases();
    assert.ok(await store.takeLease(s2!, 'w2'));
    const coordinator = new CheckpointCoordinator({ leases, sinks: [new JournalSink('a', journal)], log });

    // When it checkpoints both
    await assert.rejects(coordinator.checkpoint(new Map([['s1', '10'], ['s2', '20']])), (e: unknown) => e instanceof CheckpointError && e.cause instanceof FencedError);

    // Then neither lease moved (one transaction) and no commit ran
    assert.deepEqual((await store.listLeases()).map((l) => l.checkpoint), ['TRIM_HORIZON', 'TRIM_HORIZON']);
    assert.deepEqual(journal, ['a.preCommit(1)']);
  });

  test('a run declared dead cannot persist, even with its leases untouched', async () => {
    const store = new MemoryLeaseStore();
    const leases = await holding(store, 'w1', ['s1']);
    const [run] = await store.listRuns();
    assert.ok(await store.fenceRun('w1', run!.counter));
    const coordinator = new CheckpointCoordinator({ leases, sinks: [new JournalSink('a', [])], log });
    await assert.rejects(coordinator.checkpoint(new Map([['s1', '10']])), (e: unknown) => e instanceof CheckpointError && e.cause instanceof FencedError);
  });

  test('a taken-over lease whose holder died between persist and commit is committed before it is read', async () => {
    // Given run w1 persisted a checkpoint of s1 and died before its commit
    const store = new MemoryLeaseStore();
    const w1 = await holding(store, 'w1', ['s1']);
    const journal1: string[] = [];
    const dying = new CheckpointCoordinator({
      leases: w1,
      sinks: [new JournalSink('a', journal1)],
      log,
      afterPhase: (phase) => {
        if (phase === 'persist') throw new Error('killed after persist');
      },
    });
    await assert.rejects(dying.checkpoint(new Map([['s1', '77']])));
    assert.deepEqual(journal1, ['a.preCommit(1)']);

    // When run w2 takes the lease over
    const journal2: string[] = [];
    const sink = new JournalSink('a', journal2);
    const w2 = new LeaseTable(store, 'w2');
    await store.registerRun('w2');
    const [observed] = await store.listLeases();
    const taken = await store.takeLease(observed!, 'w2');
    w2.add(taken!.held);
    const coordinator = new CheckpointCoordinator({ leases: w2, sinks: [sink], log });
    const positions = await coordinator.recoverLeases([taken!.item]);

    // Then w1's pending output is committed (once) and reading resumes after it
    assert.deepEqual(journal2, ['a.commit(1,a-1,recovering)']);
    assert.equal(positions.get('s1'), '77');
    assert.equal(coordinator.recovery.recommitted, 1);
    assert.deepEqual(await coordinator.recoverLeases([taken!.item]), new Map([['s1', '77']]));
    assert.deepEqual(journal2, ['a.commit(1,a-1,recovering)'], 'a record is committed once per run');
  });

  test('cleaning up a dead run commits its persisted records and aborts what none holds', async () => {
    const store = new MemoryLeaseStore();
    const w1 = await holding(store, 'w1', ['s1']);
    const dying = new CheckpointCoordinator({
      leases: w1,
      sinks: [new JournalSink('a', [])],
      log,
      afterPhase: (phase) => {
        if (phase === 'persist') throw new Error('killed after persist');
      },
    });
    await assert.rejects(dying.checkpoint(new Map([['s1', '5']])));

    const journal: string[] = [];
    const sink = new JournalSink('a', journal);
    const w2 = new LeaseTable(store, 'w2');
    const coordinator = new CheckpointCoordinator({ leases: w2, sinks: [sink], log });
    await coordinator.cleanUpRun('w1');

    assert.deepEqual(journal, ['a.commit(1,a-1,recovering)']);
    assert.deepEqual(sink.aborted, ['w1:a-1']);
    assert.deepEqual(coordinator.recovery, { recommitted: 0, deadRuns: 1, leftoversAborted: 1 });
    assert.equal((await store.listCommits('w1'))[0]?.committed, true);
  });

  test('a checkpoint with nothing pending moves the positions without a commit record', async () => {
    const store = new MemoryLeaseStore();
    const leases = await holding(store, 'w1', ['s1']);
    const coordinator = new CheckpointCoordinator({ leases, sinks: [], log });
    await coordinator.checkpoint(new Map([['s1', '9']]));
    const [lease] = await store.listLeases();
    assert.equal(lease?.checkpoint, '9');
    assert.equal(lease?.pendingRef, undefined);
    assert.deepEqual(await store.listCommits('w1'), []);
  });

  test('a position for a lease this run does not hold is a programmer error', async () => {
    const store = new MemoryLeaseStore();
    const leases = await holding(store, 'w1', []);
    const coordinator = new CheckpointCoordinator({ leases, sinks: [], log });
    await assert.rejects(coordinator.checkpoint(new Map([['elsewhere', '1']])), (e: unknown) => e instanceof CheckpointError && e.cause instanceof IllegalCheckpointStateError);
  });
});
