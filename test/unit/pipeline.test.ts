import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/log.js';
import { CheckpointCoordinator } from '../../processor/checkpoint/coordinator.js';
import { LeaseTable } from '../../processor/checkpoint/lease-table.js';
import { MemoryLeaseStore } from '../../processor/checkpoint/memory-store.js';
import { BaseSink, type SinkRecord } from '../../processor/lifecycle.js';
import { Pipeline } from '../../processor/pipeline.js';
import { DeadLetterOutput } from '../../processor/sinks/dead-letter.js';
import type { Source, SourceContext } from '../../processor/sources/types.js';

const log = createLogger('test', { level: 'silent' });

/** A sink whose writes are synchronous CPU work, like encoding a large batch. */
class BusySink extends BaseSink {
  readonly name = 'busy';
  batches = 0;
  async write(_records: readonly SinkRecord[]): Promise<void> {
    const until = performance.now() + 15;
    while (performance.now() < until) {
      // busy, as an encoder is
    }
    this.batches += 1;
  }
}

/** A source that queues `count` batches of one partition at once. */
class BurstSource implements Source {
  readonly description = 'burst';
  readonly failed = new Promise<Error>(() => undefined);
  constructor(readonly leases: LeaseTable, readonly count: number) {}
  async start(context: SourceContext): Promise<void> {
    const [item] = await this.leases.store.listLeases();
    const taken = await this.leases.store.takeLease(item!, this.leases.runId);
    this.leases.add(taken!.held);
    await context.assigned([taken!.item]);
    for (let i = 1; i <= this.count; i += 1) {
      void context.emit({ shard: 'p', records: [{ data: Buffer.from(String(i)), origin: { source: 't', stream: 's', shard: 'p', position: String(i) } }], position: String(i) });
    }
  }
  async checkpointed(): Promise<void> {}
  millisBehindLatest(): number {
    return 0;
  }
  activeShards(): number {
    return 1;
  }
  stalledShards(): readonly string[] {
    return [];
  }
  async stop(): Promise<void> {}
  async close(): Promise<void> {}
  async abandon(): Promise<void> {}
}

test('timers (lease renewals, the status line) run between batches while the queue is full', async () => {
  // Given a pipeline with 12 batches queued at once and a sink that is busy with each
  const store = new MemoryLeaseStore();
  await store.registerRun('r');
  await store.createLease('p', [], 'TRIM_HORIZON');
  const leases = new LeaseTable(store, 'r');
  const sink = new BusySink();
  const coordinator = new CheckpointCoordinator({ leases, sinks: [sink], log });
  const decode = (bytes: Uint8Array): { ok: true; event: { values: string[] } } => ({ ok: true, event: { values: [Buffer.from(bytes).toString()] } });
  const pipeline = new Pipeline({ source: new BurstSource(leases, 12), decode, sinks: [sink], deadLetters: new DeadLetterOutput({ log }), coordinator, checkpointIntervalMs: 3_600_000, log });

  // When a timer is due right after the start
  let handledWhenTimerRan = -1;
  const timer = new Promise<void>((resolve) =>
    setTimeout(() => {
      handledWhenTimerRan = sink.batches;
      resolve();
    }, 1),
  );
  await pipeline.start();
  await timer;
  while (sink.batches < 12) await new Promise((r) => setTimeout(r, 5));
  await pipeline.stop();

  // Then it ran before the queue was drained, not after
  assert.ok(handledWhenTimerRan >= 0 && handledWhenTimerRan < 12, `the timer ran after ${handledWhenTimerRan} of 12 batches`);
  assert.equal((await store.listLeases())[0]?.checkpoint, '12');
});
