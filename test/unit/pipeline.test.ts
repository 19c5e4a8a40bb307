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

/** A sink that keeps what it is given, call by call. */
class CollectingSink extends BaseSink {
  readonly name = 'collect';
  readonly calls: string[][] = [];
  async write(records: readonly SinkRecord[]): Promise<void> {
    this.calls.push(records.map((r) => String(r.event.values[0])));
  }
}

/** A source that emits one batch of `count` records: every 7th rejected by the source, every 5th not decodable. */
class OneBatchSource extends BurstSource {
  override async start(context: SourceContext): Promise<void> {
    const [item] = await this.leases.store.listLeases();
    const taken = await this.leases.store.takeLease(item!, this.leases.runId);
    this.leases.add(taken!.held);
    await context.assigned([taken!.item]);
    const records = Array.from({ length: this.count }, (_, i) => ({
      data: Buffer.from(i % 5 === 0 ? `bad ${i}` : String(i)),
      origin: { source: 't', stream: 's', shard: 'p', position: String(i) },
      ...(i % 7 === 0 ? { rejected: `source rejected ${i}` } : {}),
    }));
    void context.emit({ shard: 'p', records, position: String(this.count - 1) });
  }
}

test('a batch larger than a write slice reaches the sinks whole, in order, in slices; rejects go to the dead letters', async () => {
  // Given one batch of 2,501 records, some rejected by the source, some not decodable
  const store = new MemoryLeaseStore();
  await store.registerRun('r');
  await store.createLease('p', [], 'TRIM_HORIZON');
  const leases = new LeaseTable(store, 'r');
  const sink = new CollectingSink();
  const coordinator = new CheckpointCoordinator({ leases, sinks: [sink], log });
  const decode = (bytes: Uint8Array): { ok: true; event: { values: string[] } } | { ok: false; reason: string } => {
    const text = Buffer.from(bytes).toString();
    return text.startsWith('bad') ? { ok: false, reason: `cannot decode ${text}` } : { ok: true, event: { values: [text] } };
  };
  const count = 2501;
  const pipeline = new Pipeline({ source: new OneBatchSource(leases, count), decode, sinks: [sink], deadLetters: new DeadLetterOutput({ log }), coordinator, checkpointIntervalMs: 3_600_000, log });

  // When it is handled
  await pipeline.start();
  while (pipeline.stats().eventsIn < count) await new Promise((r) => setTimeout(r, 5));
  await pipeline.stop();

  // Then every valid record reached the sink once, in order, over several calls of at most 1,000 records
  const expected = Array.from({ length: count }, (_, i) => i).filter((i) => i % 7 !== 0 && i % 5 !== 0).map(String);
  assert.deepEqual(sink.calls.flat(), expected);
  assert.ok(sink.calls.length >= 3 && sink.calls.every((c) => c.length <= 1000), `calls of ${sink.calls.map((c) => c.length).join(', ')}`);
  const stats = pipeline.stats();
  assert.equal(stats.eventsIn, count);
  assert.equal(stats.eventsValid, expected.length);
  assert.equal(stats.eventsRejected, count - expected.length);
  assert.equal((await store.listLeases())[0]?.checkpoint, String(count - 1));
});
