/**
 * The Kafka source: a kafkajs consumer in a consumer group (`read_committed`) whose assignments
 * decide which partitions this run reads, with positions kept in the lease table like Kinesis
 * shards, so Kafka input gets the same exactly-once checkpoint protocol (DESIGN.md).
 *
 * Ownership follows the group, through the lease table:
 * - **Assigned** partitions are paused at once (in kafkajs's synchronous group-join event, before
 *   any fetch). Their leases are claimed only once the previous owner let go: the lease is free, its
 *   owner's run is gone or dead, or its counter has not moved for the lease duration (the owner
 *   stopped renewing; its own watchdog stopped it by then). Then the pipeline recovers the lease's
 *   last checkpoint (`assigned`), the consumer seeks to the returned position and resumes.
 * - **Revoked** partitions stop emitting first, then the pipeline checkpoints them (`revoked`) and
 *   their leases are released, so the next owner can claim them.
 * - Ownership changes run one after another on one chain; an acquisition waiting for a previous
 *   owner gives up when a newer assignment arrives, and the newer one is reconciled instead.
 * - A partition without a checkpoint starts at the group's committed offset if it has one, else at
 *   `InputKafkaStartingPosition` (earliest or latest), resolved to a concrete offset when its lease
 *   is first created, so a restart before the first checkpoint resumes from the same offset.
 * - Group offsets are committed after each persisted and committed checkpoint (`checkpointed`), for
 *   lag tools and for runs without a checkpoint table; the lease table stays the source of truth.
 * - Records below the next expected offset of a partition are never emitted again (a re-fetch after
 *   a seek or a rebalance), so a position is emitted once per ownership.
 *
 * The run is registered, heartbeated and its held leases renewed by the same LeaseManager as the
 * Kinesis source, with taking disabled: it also fences dead runs and cleans up after them.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { describeError } from '../../../common/errors.js';
import { createKafkaClient } from '../../../common/kafka/client.js';
import type { Logger } from '../../../common/log.js';
import { sleep } from '../../../common/retry.js';
import { LeaseManager, type LeaseTimings } from '../../checkpoint/lease-manager.js';
import type { LeaseTable } from '../../checkpoint/lease-table.js';
import type { LeaseItem } from '../../checkpoint/types.js';
import type { KafkaSecurity, KafkaStartingPosition } from '../../config/types.js';
import type { SourceRecord, Source, SourceContext } from '../types.js';
import { SourceError } from '../errors.js';

/** What the Kafka source needs. */
export interface KafkaSourceOptions {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly startingPosition: KafkaStartingPosition;
  /** @default plaintext */
  readonly security?: KafkaSecurity;
  readonly log: Logger;
  readonly leases: LeaseTable;
  readonly timings: LeaseTimings;
  /** An existing client; one is created otherwise. */
  readonly kafka?: Kafka;
  /** The consumer's session timeout (ms). @default max(6000, lease duration) */
  readonly sessionTimeoutMs?: number;
}

/** The partition id in the lease table: `<topic>/<partition>`. */
export function kafkaPartitionId(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** Reads a Kafka topic's partitions assigned to this run by the consumer group. */
export class KafkaSource implements Source {
  readonly description: string;
  readonly failed: Promise<Error>;
  readonly #o: KafkaSourceOptions;
  readonly #kafka: Kafka;
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  readonly #log: Logger;
  /** Partitions whose leases this run holds and that the pipeline tracks. */
  readonly #owned = new Set<number>();
  /** Owned partitions being read now (emits allowed). */
  readonly #ready = new Set<number>();
  /** The next offset to emit per ready partition. */
  readonly #next = new Map<number, bigint>();
  readonly #inflight = new Map<number, Promise<void>>();
  readonly #lagMs = new Map<number, number>();
  #fail!: (error: Error) => void;
  #manager: LeaseManager | undefined;
  #context: SourceContext | undefined;
  #assignment: readonly number[] = [];
  #generation = 0;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  #connected = false;

  constructor(options: KafkaSourceOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#kafka = options.kafka ?? createKafkaClient({
        brokers: options.bootstrapServers,
        clientId: `streaming-etl-${options.leases.runId}`,
        log: options.log.child('kafkajs'),
        ...(options.security ? { security: options.security } : {}),
      });
    const sessionTimeout = options.sessionTimeoutMs ?? Math.max(6000, options.timings.leaseDurationMs);
    this.#consumer = this.#kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      sessionTimeout,
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 6)),
      rebalanceTimeout: Math.max(sessionTimeout, 30_000),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
    });
    this.#admin = this.#kafka.admin();
    this.description = `kafka:${options.topic}`;
    this.failed = new Promise((resolve) => {
      this.#fail = resolve;
    });
  }

  async start(context: SourceContext): Promise<void> {
    this.#context = context;
    this.#manager = new LeaseManager({
      ...this.#o.timings,
      take: false,
      leases: this.#o.leases,
      log: this.#log.child('leases'),
      sync: async () => undefined,
      onTaken: async () => undefined,
      onHandOver: async () => undefined,
      onDeadRun: (runId) => context.deadRun(runId),
      onLost: (error) => this.#fail(error),
    });
    await this.#manager.start();
    try {
      await this.#admin.connect();
      await this.#consumer.connect();
      this.#connected = true;
      await this.#consumer.subscribe({ topics: [this.#o.topic], fromBeginning: this.#o.startingPosition === 'EARLIEST' });
    } catch (error) {
      throw new SourceError(`could not connect to Kafka (${this.#o.bootstrapServers.join(',')}) for topic ${this.#o.topic}`, { cause: error, retriable: true });
    }
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => this.#joined(event.payload.memberAssignment[this.#o.topic] ?? []));
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      if (!event.payload.restart && !this.#stopped) this.#fail(new SourceError(`the Kafka consumer of ${this.#o.topic} crashed`, { cause: event.payload.error }));
    });
    await this.#consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (payload) => this.#batch(payload) });
  }

  millisBehindLatest(): number {
    let max = 0;
    for (const lag of this.#lagMs.values()) if (lag > max) max = lag;
    return max;
  }

  activeShards(): number {
    return this.#ready.size;
  }

  stalledShards(): readonly string[] {
    return [];
  }

  async checkpointed(positions: ReadonlyMap<string, string>, _finished: readonly string[]): Promise<void> {
    if (this.#stopped && !this.#connected) return;
    const offsets: { topic: string; partition: number; offset: string }[] = [];
    for (const partition of this.#owned) {
      const position = positions.get(kafkaPartitionId(this.#o.topic, partition));
      if (position !== undefined && /^\d+$/.test(position)) offsets.push({ topic: this.#o.topic, partition, offset: position });
    }
    if (offsets.length === 0) return;
    try {
      await this.#consumer.commitOffsets(offsets);
    } catch (error) {
      // The lease table holds the positions; group offsets are for lag tools and runs without it.
      this.#log.warn('could not commit the group offsets after a checkpoint; the next checkpoint tries again', { error: describeError(error) });
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation += 1;
    this.#ready.clear();
    await Promise.all([...this.#inflight.values()]);
    await this.#chain;
  }

  async close(): Promise<void> {
    await this.#manager?.close();
    await this.#disconnect();
  }

  async abandon(): Promise<void> {
    this.#stopped = true;
    this.#generation += 1;
    this.#ready.clear();
    await this.#manager?.abandon();
    await this.#disconnect();
  }

  async #disconnect(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    const bounded = (p: Promise<void>): Promise<void> => Promise.race([p.catch((error: unknown) => this.#log.warn('Kafka disconnect failed', { error: describeError(error) })), sleep(10_000)]);
    await bounded(this.#consumer.disconnect());
    await bounded(this.#admin.disconnect());
  }

  /** kafkajs's group-join event (synchronous, before any fetch of the new generation). */
  #joined(partitions: readonly number[]): void {
    this.#generation += 1;
    this.#assignment = [...partitions];
    const generation = this.#generation;
    const waiting = partitions.filter((p) => !this.#ready.has(p));
    if (waiting.length > 0) this.#consumer.pause([{ topic: this.#o.topic, partitions: waiting }]);
    this.#log.info('partitions assigned by the consumer group', { topic: this.#o.topic, partitions, generation });
    this.#chain = this.#chain
      .then(() => this.#reconcile(generation))
      .catch((error: unknown) => this.#fail(error instanceof Error ? error : new SourceError(String(error))));
  }

  /** Brings ownership in line with the latest assignment: revoke first, then acquire. */
  async #reconcile(generation: number): Promise<void> {
    if (generation !== this.#generation || this.#stopped) return;
    const assigned = new Set(this.#assignment);
    const lost = [...this.#owned].filter((p) => !assigned.has(p));
    if (lost.length > 0) await this.#revoke(lost);
    const gained = [...assigned].filter((p) => !this.#owned.has(p));
    if (gained.length > 0) await this.#acquire(gained, generation);
  }

  async #revoke(partitions: readonly number[]): Promise<void> {
    for (const p of partitions) this.#ready.delete(p);
    await Promise.all(partitions.map((p) => this.#inflight.get(p)));
    const ids = partitions.map((p) => kafkaPartitionId(this.#o.topic, p));
    this.#log.info('partitions revoked: checkpointing and releasing them', { partitions: ids });
    await this.#context!.revoked(ids);
    const leases = this.#o.leases;
    await leases.exclusive(async () => {
      for (const id of ids) {
        const held = leases.held(id);
        if (held) await leases.store.releaseLease(held, leases.runId);
        leases.remove(id);
      }
    });
    for (const p of partitions) {
      this.#owned.delete(p);
      this.#next.delete(p);
      this.#lagMs.delete(p);
    }
    this.#log.info('leases released', { partitions: ids });
  }

  /** Where a partition without a checkpoint starts: the group's committed offset, else the starting position. */
  async #initialOffsets(partitions: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const [committed] = await this.#admin.fetchOffsets({ groupId: this.#o.groupId, topics: [this.#o.topic] });
    for (const c of committed?.partitions ?? []) if (partitions.includes(c.partition) && Number(c.offset) >= 0) out.set(c.partition, c.offset);
    if (out.size < partitions.length) {
      const ends = await this.#admin.fetchTopicOffsets(this.#o.topic);
      for (const e of ends) {
        if (!partitions.includes(e.partition) || out.has(e.partition)) continue;
        out.set(e.partition, this.#o.startingPosition === 'EARLIEST' ? e.low : e.high);
      }
    }
    return out;
  }

  async #acquire(partitions: readonly number[], generation: number): Promise<void> {
    const leases = this.#o.leases;
    const store = leases.store;
    const ids = new Map(partitions.map((p) => [p, kafkaPartitionId(this.#o.topic, p)]));
    const seen = new Map<number, { counter: number; since: number }>();
    const free = new Set<number>();
    let lastWarn = performance.now();
    const poll = Math.max(100, Math.min(500, Math.floor(this.#o.timings.leaseDurationMs / 10)));
    // Wait until each lease's previous owner let go (see the file comment).
    while (free.size < partitions.length) {
      if (generation !== this.#generation || this.#stopped) return;
      const [items, runs] = await Promise.all([store.listLeases(), store.listRuns()]);
      const byId = new Map(items.map((i) => [i.partition, i]));
      const now = performance.now();
      for (const p of partitions) {
        if (free.has(p)) continue;
        const item = byId.get(ids.get(p)!);
        const run = item?.owner ? runs.find((r) => r.runId === item.owner) : undefined;
        if (!item || !item.owner || item.owner === leases.runId || !run || run.status === 'dead') {
          free.add(p);
          continue;
        }
        const previous = seen.get(p);
        if (!previous || previous.counter !== item.counter) seen.set(p, { counter: item.counter, since: now });
        else if (now - previous.since >= this.#o.timings.leaseDurationMs) free.add(p);
      }
      if (free.size < partitions.length) {
        if (now - lastWarn > 5 * this.#o.timings.leaseDurationMs) {
          lastWarn = now;
          this.#log.warn('still waiting for the previous owners to release partitions', { partitions: partitions.filter((p) => !free.has(p)).map((p) => ids.get(p)) });
        }
        await sleep(poll);
      }
    }
    if (generation !== this.#generation || this.#stopped) return;
    const initial = await this.#initialOffsets(partitions);
    const items: LeaseItem[] = [];
    await leases.exclusive(async () => {
      for (const p of partitions) {
        const claimed = await store.claimLease(ids.get(p)!, leases.runId, initial.get(p) ?? '0');
        leases.add(claimed.held);
        this.#owned.add(p);
        items.push(claimed.item);
        this.#log.info('lease claimed', { partition: ids.get(p), from: claimed.item.checkpoint, counter: claimed.held.counter });
      }
    });
    if (this.#stopped) return;
    const positions = await this.#context!.assigned(items);
    const resumable: number[] = [];
    for (const p of partitions) {
      const position = positions.get(ids.get(p)!) ?? initial.get(p) ?? '0';
      if (!/^\d+$/.test(position)) throw new SourceError(`the checkpoint of ${ids.get(p)} is not a Kafka offset: ${position}`);
      this.#next.set(p, BigInt(position));
      if (generation !== this.#generation || this.#stopped || !this.#assignment.includes(p)) continue;
      this.#consumer.seek({ topic: this.#o.topic, partition: p, offset: position });
      this.#ready.add(p);
      resumable.push(p);
    }
    if (resumable.length > 0) {
      this.#consumer.resume([{ topic: this.#o.topic, partitions: resumable }]);
      this.#log.info('reading partitions', { partitions: resumable.map((p) => ({ partition: ids.get(p), from: String(this.#next.get(p)) })) });
    }
  }

  async #batch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const p = batch.partition;
    if (!this.#ready.has(p) || payload.isStale() || !payload.isRunning()) return;
    const next = this.#next.get(p);
    if (next === undefined) return;
    const shard = kafkaPartitionId(batch.topic, p);
    const records: SourceRecord[] = [];
    let last: bigint | undefined;
    let lastTimestamp = 0;
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      if (offset < next) continue;
      last = offset;
      lastTimestamp = Number(message.timestamp);
      records.push({
        data: message.value ?? new Uint8Array(0),
        origin: { source: 'kafka', stream: batch.topic, shard, position: message.offset, arrivalTimeMs: lastTimestamp },
      });
    }
    if (last === undefined) return;
    const position = last + 1n;
    const emitted = this.#context!.emit({ shard, records, position: position.toString() });
    this.#inflight.set(p, emitted);
    this.#next.set(p, position);
    try {
      await emitted;
    } finally {
      this.#inflight.delete(p);
    }
    this.#lagMs.set(p, batch.offsetLag() === '0' ? 0 : Math.max(0, Date.now() - lastTimestamp));
    payload.resolveOffset(last.toString());
    await payload.heartbeat().catch(() => undefined);
  }
}
