import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/log.js';
import { CheckpointCoordinator, type CheckpointParticipant } from '../../processor/checkpoint/coordinator.js';
import { CheckpointError, FencedError, IllegalCheckpointStateError } from '../../processor/checkpoint/errors.js';
import { MemoryCheckpointStore } from '../../processor/checkpoint/memory-store.js';

const log = createLogger('test', { level: 'silent' });

/** A participant that records the calls made to it, in one shared journal. */
function participant(name: string, journal: string[], options: { failPreCommit?: boolean } = {}): CheckpointParticipant {
  return {
    name,
    async preCommit(id) {
      journal.push(`${name}.preCommit(${id})`);
      if (options.failPreCommit) throw new Error(`${name} cannot pre-commit`);
      return { files: [`${name}-${id}`] };
    },
    async commit(pending, id, recovering) {
      journal.push(`${name}.commit(${id},${JSON.stringify(pending)}${recovering ? ',recovering' : ''})`);
    },
  };
}

describe('CheckpointCoordinator', () => {
  test('pre-commits every participant, persists, then commits, in that order', async () => {
    // Given a coordinator with two participants, recovered from an empty store
    const journal: string[] = [];
    const store = new MemoryCheckpointStore();
    const persist = store.persist.bind(store);
    store.persist = async (lease, data) => {
      journal.push(`persist(${data.checkpointId},${JSON.stringify(data.positions)})`);
      return persist(lease, data);
    };
    const coordinator = new CheckpointCoordinator({ store, participants: [participant('a', journal), participant('b', journal)], log, owner: 'w1' });
    assert.deepEqual(await coordinator.recover(), {});

    // When a checkpoint is taken
    const result = await coordinator.checkpoint({ 'shard-1': '42' });

    // Then the phases ran in protocol order, and the state is idle again
    assert.equal(result.checkpointId, 1);
    assert.deepEqual(journal, [
      'a.preCommit(1)',
      'b.preCommit(1)',
      'persist(1,{"shard-1":"42"})',
      'a.commit(1,{"files":["a-1"]})',
      'b.commit(1,{"files":["b-1"]})',
    ]);
    assert.equal(coordinator.state, 'idle');
    assert.equal((await coordinator.checkpoint({ 'shard-1': '43' })).checkpointId, 2);
  });

  test('a failed pre-commit persists nothing, commits nothing, and leaves the coordinator failed', async () => {
    // Given a participant that cannot pre-commit
    const journal: string[] = [];
    const store = new MemoryCheckpointStore();
    const coordinator = new CheckpointCoordinator({ store, participants: [participant('a', journal, { failPreCommit: true })], log, owner: 'w1' });
    await coordinator.recover();

    // When a checkpoint is taken, it fails naming the phase
    await assert.rejects(coordinator.checkpoint({ s: '1' }), (error: unknown) => error instanceof CheckpointError && /pre-committing/.test(error.message));

    // Then nothing was committed, nothing persisted, and further checkpoints are refused
    assert.deepEqual(journal, ['a.preCommit(1)']);
    assert.equal(coordinator.state, 'failed');
    assert.equal((await store.acquire('w2')).last, undefined);
    await assert.rejects(coordinator.checkpoint({}), (error: unknown) => error instanceof CheckpointError && error.cause instanceof IllegalCheckpointStateError);
  });

  test('recover re-runs the last checkpoint\'s commits (marked as recovery) and returns its positions', async () => {
    // Given a store holding a checkpoint whose commit may not have run (a crash after persist)
    const store = new MemoryCheckpointStore();
    const first = new CheckpointCoordinator({
      store,
      participants: [participant('a', [])],
      log,
      owner: 'w1',
      afterPhase: (phase) => {
        if (phase === 'persist') throw new Error('crash between persist and commit');
      },
    });
    await first.recover();
    await assert.rejects(first.checkpoint({ s: '7' }));

    // When a new worker recovers
    const journal: string[] = [];
    const second = new CheckpointCoordinator({ store, participants: [participant('a', journal)], log, owner: 'w2' });
    const positions = await second.recover();

    // Then it committed the persisted pending output again and resumes after position 7
    assert.deepEqual(positions, { s: '7' });
    assert.deepEqual(journal, ['a.commit(1,{"files":["a-1"]},recovering)']);
    assert.equal((await second.checkpoint({ s: '8' })).checkpointId, 2);
  });

  test('a worker whose lease was taken over is fenced off', async () => {
    // Given two coordinators on one store; the second took the lease after the first
    const store = new MemoryCheckpointStore();
    const first = new CheckpointCoordinator({ store, participants: [], log, owner: 'w1' });
    await first.recover();
    const second = new CheckpointCoordinator({ store, participants: [], log, owner: 'w2' });
    await second.recover();

    // When the first tries to checkpoint, it is fenced
    await assert.rejects(first.checkpoint({ s: '1' }), (error: unknown) => error instanceof CheckpointError && error.cause instanceof FencedError);
    // ... and the second is not
    assert.equal((await second.checkpoint({ s: '1' })).checkpointId, 1);
  });

  test('checkpoint before recover is a programmer error', async () => {
    const coordinator = new CheckpointCoordinator({ store: new MemoryCheckpointStore(), participants: [], log, owner: 'w1' });
    await assert.rejects(coordinator.checkpoint({}), IllegalCheckpointStateError);
  });
});

describe('CheckpointCoordinator upload registry', () => {
  /** A participant whose pending commit is a list of upload entries, recording aborts. */
  function uploader(journal: string[], abortable = true): CheckpointParticipant & { next: string[] } {
    const self = {
      name: 's3',
      next: [] as string[],
      async preCommit() {
        const uploads = self.next;
        self.next = [];
        return { uploads };
      },
      async commit(pending: unknown, id: number, recovering?: boolean) {
        journal.push(`commit(${id},${(pending as { uploads: string[] }).uploads.join('+')}${recovering ? ',recovering' : ''})`);
      },
      uploadsOf: (pending: unknown) => (pending as { uploads: string[] }).uploads,
      async abortUpload(entry: string) {
        journal.push(`abort(${entry})`);
        return abortable;
      },
    };
    return self;
  }

  test('a committed checkpoint forgets its uploads; recovery aborts only the uploads no checkpoint holds', async () => {
    // Given checkpoints 1 and 2 committed with uploads A and C, then upload B registered and
    // pre-committed by checkpoint 3, which crashed before it persisted
    const store = new MemoryCheckpointStore();
    const journal: string[] = [];
    const s3 = uploader(journal);
    const first = new CheckpointCoordinator({
      store,
      participants: [s3],
      log,
      owner: 'w1',
      afterPhase: (phase, id) => {
        if (phase === 'pre-commit' && id === 3) throw new Error('crash before persist');
      },
    });
    await first.recover();
    for (const [upload, position] of [['A', '1'], ['C', '2']] as const) {
      await first.registerUpload(upload);
      s3.next = [upload];
      await first.checkpoint({ s: position });
    }
    await first.registerUpload('B');
    s3.next = ['B'];
    await assert.rejects(first.checkpoint({ s: '3' }));

    // When a new worker recovers
    journal.length = 0;
    const second = new CheckpointCoordinator({ store, participants: [uploader(journal)], log, owner: 'w2' });
    assert.deepEqual(await second.recover(), { s: '2' });

    // Then checkpoint 2 was committed again and only B aborted: A was forgotten when checkpoint 1
    // committed (else it would be taken for an orphan too), and the registry is empty
    assert.deepEqual(journal, ['commit(2,C,recovering)', 'abort(B)']);
    assert.deepEqual(second.recovery, { checkpointId: 2, recommitted: 1, orphansAborted: ['B'], orphansNotAborted: [] });
    assert.deepEqual((await store.acquire('probe')).registeredUploads, []);
  });

  test('an orphan that cannot be aborted is reported as such, and still forgotten', async () => {
    const store = new MemoryCheckpointStore();
    const first = new CheckpointCoordinator({ store, participants: [uploader([])], log, owner: 'w1' });
    await first.recover();
    await first.registerUpload('C');
    const second = new CheckpointCoordinator({ store, participants: [uploader([], false)], log, owner: 'w2' });
    await second.recover();
    assert.deepEqual(second.recovery?.orphansNotAborted, ['C']);
    assert.deepEqual((await store.acquire('probe')).registeredUploads, []);
  });

  test('registering needs the lease, and a fenced worker cannot register', async () => {
    const store = new MemoryCheckpointStore();
    const first = new CheckpointCoordinator({ store, participants: [], log, owner: 'w1' });
    await assert.rejects(first.registerUpload('X'), IllegalCheckpointStateError);
    await first.recover();
    const second = new CheckpointCoordinator({ store, participants: [], log, owner: 'w2' });
    await second.recover();
    await assert.rejects(first.registerUpload('X'), FencedError);
  });
});
