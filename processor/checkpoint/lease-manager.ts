/**
 * Takes, renews, balances and hands over leases, in the spirit of the KCL's LeaseTaker and
 * LeaseRenewer, with DynamoDB conditional writes as the only coordination:
 *
 * - **Expiry without synchronised clocks.** A lease (or run) is expired for an observer when its
 *   counter has not moved for `leaseDurationMs` on the observer's own monotonic clock. The holder
 *   renews every `renewIntervalMs` (all its leases at once: one round trip a round); if no renewal
 *   has succeeded for four fifths of `leaseDurationMs` since the last successful one started, a
 *   watchdog stops it (fatal `LeaseLostError`) before anyone can take the lease, even while a
 *   renewal call hangs. This holds while clock rates differ by less than a fifth.
 * - **Taking.** Each balance round lists runs and leases; free leases, expired leases and leases of
 *   dead runs are taken, up to this run's share `ceil(active leases / live runs)`. The first round
 *   comes `firstTakeDelayMs` after the run registered, so runs started together count each other.
 * - **Balancing without ping-pong.** A run below its share with nothing free asks the runs holding
 *   the most leases for its whole shortfall at once (`takeRequestedBy`), each lease from a run
 *   holding at least two more than the asker then holds. The owner sees the requests when it
 *   renews, checkpoints once, and releases them all; they are then free, and the asker looks again
 *   every half renewal interval until it has them. One checkpoint per hand-over, not one per lease.
 * - **Dead runs.** A run whose heartbeat stopped is fenced (status `dead`: it can no longer persist
 *   a checkpoint), its persisted checkpoints are committed and its leftovers aborted (`onDeadRun`),
 *   then it is deleted.
 */
import type { Logger } from '../../common/log.js';
import { sleep } from '../../common/retry.js';
import { describeError } from '../../common/errors.js';
import type { LeaseTable } from './lease-table.js';
import type { LeaseItem } from './types.js';
import { SHARD_END } from './types.js';
import { CheckpointError, FencedError } from './errors.js';

/** A lease this run held was lost (taken, or not renewed in time): its output must not be committed. */
export class LeaseLostError extends CheckpointError {}

/** Timing and limits of lease ownership. */
export interface LeaseTimings {
  /** A lease whose counter has not moved for this long is expired. @default 10000 */
  readonly leaseDurationMs: number;
  /** How often held leases are renewed. @default leaseDurationMs / 3 */
  readonly renewIntervalMs: number;
  /** How often runs and leases are listed to take and balance. @default leaseDurationMs / 2 */
  readonly balanceIntervalMs: number;
  /** Most leases this run holds. @default 98 */
  readonly maxLeases: number;
  /**
   * How long a run waits after registering before its first balance round (plus up to a second of
   * jitter), so that runs started together see each other's registrations and each takes its share,
   * instead of the first one taking every lease and handing most back (a checkpoint of every open
   * file). Start-up of a processor takes about a CPU-second, more on a loaded host.
   * @default half of balanceIntervalMs, at most 3000
   */
  readonly firstTakeDelayMs: number;
}

/** What the manager calls. */
export interface LeaseManagerOptions extends LeaseTimings {
  readonly leases: LeaseTable;
  readonly log: Logger;
  /**
   * Whether this manager takes and balances leases (Kinesis). A Kafka source sets false: the
   * consumer group decides who owns what, and the manager only heartbeats the run, renews the held
   * leases and fences dead runs. @default true
   */
  readonly take?: boolean;
  /** Creates leases for partitions that have none (Kinesis: shard discovery). Called every balance round. */
  sync(knownLeases: readonly LeaseItem[]): Promise<void>;
  /** Leases just taken: recover and start reading them. */
  onTaken(items: readonly LeaseItem[]): Promise<void>;
  /** The owner of another run asked for these: stop reading, checkpoint them; the manager then releases them. */
  onHandOver(partitions: readonly string[]): Promise<void>;
  /** A run was fenced as dead: commit its persisted checkpoints, abort its leftovers. */
  onDeadRun(runId: string): Promise<void>;
  /** A held lease was lost: fatal for this run. */
  onLost(error: LeaseLostError): void;
}

interface Observation {
  counter: number;
  since: number;
}

/** Default timings from a lease duration. */
export function leaseTimings(leaseDurationMs = 10_000, overrides: Partial<LeaseTimings> = {}): LeaseTimings {
  const balanceIntervalMs = overrides.balanceIntervalMs ?? Math.max(50, Math.floor(leaseDurationMs / 2));
  return {
    leaseDurationMs,
    renewIntervalMs: overrides.renewIntervalMs ?? Math.max(50, Math.floor(leaseDurationMs / 3)),
    balanceIntervalMs,
    maxLeases: overrides.maxLeases ?? 98,
    firstTakeDelayMs: overrides.firstTakeDelayMs ?? Math.min(3000, Math.floor(balanceIntervalMs / 2)),
  };
}

/** Owns this run's leases. */
export class LeaseManager {
  readonly #o: LeaseManagerOptions;
  readonly #stopBalancing = new AbortController();
  readonly #stopRenewing = new AbortController();
  readonly #leaseSeen = new Map<string, Observation>();
  readonly #runSeen = new Map<string, Observation>();
  readonly #deadSeen = new Map<string, Observation>();
  readonly #handingOver = new Set<string>();
  #lastRenewalStart = performance.now();
  #loops: Promise<void>[] = [];
  #lost = false;

  constructor(options: LeaseManagerOptions) {
    this.#o = options;
  }

  get #runId(): string {
    return this.#o.leases.runId;
  }

  /** Registers the run, takes a first share of the leases, and starts renewing and balancing. */
  async start(): Promise<void> {
    await this.#o.leases.store.registerRun(this.#runId);
    this.#lastRenewalStart = performance.now();
    this.#loops = [this.#renewLoop(), this.#balanceLoop()];
  }

  /** Runs one balance round now (also used when a shard ended, to create its children's leases soon). */
  async balanceNow(): Promise<void> {
    await this.#balance();
  }

  /** Stops taking leases; held leases are still renewed until `close`. */
  stopTaking(): void {
    this.#stopBalancing.abort();
  }

  /** Frees leases (after their last checkpoint). */
  async release(partitions: readonly string[]): Promise<void> {
    await this.#o.leases.exclusive(async () => {
      for (const partition of partitions) {
        const lease = this.#o.leases.held(partition);
        if (!lease) continue;
        await this.#o.leases.store.releaseLease(lease, this.#runId);
        this.#o.leases.remove(partition);
        this.#handingOver.delete(partition);
        this.#o.log.info('lease released', { partition });
      }
    });
  }

  /**
   * Stops renewing and taking, keeping the leases: they expire and other runs take them (after a
   * fatal error). Does not wait for a renewal in flight: it may be the call that hangs.
   */
  async abandon(): Promise<void> {
    this.#lost = true;
    this.#stopBalancing.abort();
    this.#stopRenewing.abort();
  }

  /** Stops renewing, releases every held lease and removes the run (after the final checkpoint). */
  async close(): Promise<void> {
    this.#stopBalancing.abort();
    this.#stopRenewing.abort();
    await Promise.all(this.#loops);
    if (this.#lost) return;
    await this.release(this.#o.leases.all().map((l) => l.partition));
    await this.#o.leases.store.deleteRun(this.#runId);
  }

  async #renewLoop(): Promise<void> {
    const { renewIntervalMs, leaseDurationMs } = this.#o;
    // The holder's deadline: a fifth of the lease duration before anyone can see the lease expired.
    // A watchdog checks it on its own timer, so a renewal call that hangs cannot keep this run writing.
    const deadline = leaseDurationMs - Math.floor(leaseDurationMs / 5);
    const watchdog = setInterval(() => {
      const since = performance.now() - this.#lastRenewalStart;
      if (since > deadline && !this.#lost) {
        this.#lose(new LeaseLostError(`no lease renewal succeeded for ${Math.round(since)} ms (lease duration ${leaseDurationMs} ms): stopping before another worker takes the leases`));
      }
    }, Math.max(20, Math.min(1000, Math.floor(renewIntervalMs / 2))));
    watchdog.unref();
    try {
      while (!this.#stopRenewing.signal.aborted && !this.#lost) {
        await sleep(renewIntervalMs, this.#stopRenewing.signal);
        if (this.#stopRenewing.signal.aborted || this.#lost) return;
        const started = performance.now();
        try {
          const requested: string[] = [];
          await this.#o.leases.exclusive(async () => {
            await this.#o.leases.store.heartbeatRun(this.#runId);
            // One round is one round trip, however many leases are held.
            const answers = await Promise.allSettled(this.#o.leases.all().map(async (lease) => ({ lease, ...(await this.#o.leases.store.renewLease(lease, this.#runId)) })));
            const failed = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
            if (failed) throw failed.reason;
            for (const a of answers) {
              if (a.status === 'fulfilled' && a.value.takeRequestedBy && !this.#handingOver.has(a.value.lease.partition)) requested.push(a.value.lease.partition);
            }
          });
          if (!this.#lost) this.#lastRenewalStart = started;
          if (requested.length > 0) this.#handOver(requested);
        } catch (error) {
          if (error instanceof FencedError) return this.#lose(new LeaseLostError(await this.#takenOverBy(), { cause: error }));
          this.#o.log.warn('lease renewal failed; will try again', { error: describeError(error) });
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  /** Says that another worker took over, naming the runs that hold this run's leases now (best effort: a few seconds at most). */
  async #takenOverBy(): Promise<string> {
    const mine = new Set(this.#o.leases.all().map((l) => l.partition));
    try {
      const leases = await Promise.race([
        this.#o.leases.store.listLeases(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), 5_000).unref()),
      ]);
      const byOwner = new Map<string, string[]>();
      for (const lease of leases) {
        if (!mine.has(lease.partition) || lease.owner === undefined || lease.owner === this.#runId) continue;
        byOwner.set(lease.owner, [...(byOwner.get(lease.owner) ?? []), lease.partition]);
      }
      if (byOwner.size > 0) {
        return `another worker took over: ${[...byOwner].map(([owner, partitions]) => `run ${owner} holds ${partitions.join(', ')}`).join('; ')}`;
      }
    } catch {
      // Which run took over is only for the message; the fencing itself is certain.
    }
    return 'another worker took over (this run was fenced, or a lease it held was taken)';
  }

  #lose(error: LeaseLostError): void {
    this.#lost = true;
    this.#stopBalancing.abort();
    this.#o.onLost(error);
  }

  #handOver(partitions: readonly string[]): void {
    for (const p of partitions) this.#handingOver.add(p);
    this.#o.log.info('handing leases over to balance the load', { partitions });
    this.#o.onHandOver(partitions).then(
      () => this.release(partitions),
      (error: unknown) => this.#o.log.warn('hand-over failed; the lease stays here', { partitions, error: describeError(error) }),
    ).catch((error: unknown) => this.#lose(new LeaseLostError('could not release a handed-over lease', { cause: error })));
  }

  async #balanceLoop(): Promise<void> {
    // Tasks started together (a deployment, a scale-out) first see each other's runs, so each takes
    // its share instead of the first one taking every lease and handing them over.
    // The jitter keeps runs that registered together from listing at the same moment.
    await sleep(this.#o.firstTakeDelayMs + Math.random() * Math.min(1000, this.#o.balanceIntervalMs), this.#stopBalancing.signal);
    while (!this.#stopBalancing.signal.aborted) {
      let waiting = false;
      try {
        waiting = (await this.#balance()) === 'waiting';
      } catch (error) {
        if (this.#stopBalancing.signal.aborted) return;
        if (error instanceof LeaseLostError) return this.#lose(error);
        this.#o.log.warn('lease balancing failed; will try again', { error: describeError(error) });
      }
      // Leases asked for are released by their owners within a renewal interval and a checkpoint:
      // look again at half that pace, so they are read again soon instead of after a whole round.
      const interval = waiting ? Math.min(this.#o.balanceIntervalMs, Math.max(50, Math.floor(this.#o.renewIntervalMs / 2))) : this.#o.balanceIntervalMs;
      await sleep(interval, this.#stopBalancing.signal);
    }
  }

  #expired(seen: Map<string, Observation>, key: string, counter: number, now: number): boolean {
    const previous = seen.get(key);
    if (!previous || previous.counter !== counter) {
      seen.set(key, { counter, since: now });
      return false;
    }
    return now - previous.since >= this.#o.leaseDurationMs;
  }

  /** One round of taking and balancing; 'waiting' when leases this run asked for are not released yet. */
  async #balance(): Promise<'waiting' | 'settled'> {
    if (this.#stopBalancing.signal.aborted) return 'settled';
    const store = this.#o.leases.store;
    await this.#o.sync(await store.listLeases());
    const now = performance.now();
    const runs = await store.listRuns();
    const dead = new Set<string>();
    for (const run of runs) {
      if (run.runId === this.#runId) continue;
      if (run.status === 'active') {
        if (!this.#expired(this.#runSeen, run.runId, run.counter, now)) continue;
        // The one run whose conditional write declares it dead cleans it up.
        if (!(await store.fenceRun(run.runId, run.counter))) continue;
        this.#o.log.warn('a run stopped renewing: fenced as dead', { run: run.runId });
      } else if (!this.#expired(this.#deadSeen, run.runId, run.counter, now)) {
        // Fenced by another run, which is cleaning it up; take over only if that run died doing it.
        continue;
      }
      await this.#o.onDeadRun(run.runId);
      await store.deleteRun(run.runId);
      this.#runSeen.delete(run.runId);
      this.#deadSeen.delete(run.runId);
      dead.add(run.runId);
    }
    if (this.#o.take === false) return 'settled';
    const liveRuns = Math.max(1, runs.filter((r) => !dead.has(r.runId)).length + (runs.some((r) => r.runId === this.#runId) ? 0 : 1));
    const leases = await store.listLeases();
    const active = leases.filter((l) => l.checkpoint !== SHARD_END);
    const target = Math.min(this.#o.maxLeases, Math.ceil(active.length / liveRuns));
    const takeable = active.filter(
      (l) => !l.owner || dead.has(l.owner) || (l.owner !== this.#runId && this.#expired(this.#leaseSeen, l.partition, l.counter, now)),
    );
    // Leases whose counters were observed only now still get their first observation recorded.
    for (const l of active) if (l.owner && l.owner !== this.#runId) this.#expired(this.#leaseSeen, l.partition, l.counter, now);
    let mine = active.filter((l) => l.owner === this.#runId).length;
    const wanted = Math.max(0, target - mine);
    if (wanted > 0 && takeable.length > 0) {
      const taken: LeaseItem[] = [];
      for (const candidate of takeable.slice(0, wanted)) {
        const result = await store.takeLease(candidate, this.#runId);
        if (!result) continue;
        this.#o.leases.add(result.held);
        taken.push(result.item);
        this.#o.log.info('lease taken', { partition: candidate.partition, from: candidate.owner ?? null, counter: result.held.counter });
      }
      if (taken.length > 0) {
        try {
          await this.#o.onTaken(taken);
        } catch (error) {
          // Held but never read would stall those shards for good: stop, and let the leases move.
          throw new LeaseLostError(`could not start reading the leases just taken (${taken.map((t) => t.partition).join(', ')})`, { cause: error });
        }
      }
      mine += taken.length;
      if (takeable.length > wanted || mine >= target) {
        // Leases asked for earlier may still be on their way.
        return active.some((l) => l.owner !== this.#runId && l.takeRequestedBy === this.#runId) ? 'waiting' : 'settled';
      }
      // Everything free is taken and this run is still short: it asks in this round, not a round later.
    }
    // Takeable leases are taken by now (by this run or another): none of them is asked for.
    if (mine < target) return (await this.#ask(active.filter((l) => !takeable.includes(l)), mine, target)) ? 'waiting' : 'settled';
    return 'settled';
  }

  /**
   * Below its share with nothing free: asks the runs holding the most leases for the whole
   * shortfall at once, so an owner hands them over in one checkpoint (each hand-over is a
   * checkpoint of everything the owner has open). A lease moves only from a run holding at least
   * two more than the asker will then hold (counting leases already asked for, by anyone), so no
   * lease is ever asked back: every move lowers the spread. Returns whether leases asked for (now
   * or earlier) are still on their way.
   */
  async #ask(active: readonly LeaseItem[], mine: number, target: number): Promise<boolean> {
    const pending = active.filter((l) => l.owner !== this.#runId && l.takeRequestedBy === this.#runId).length;
    let have = mine + pending;
    const askable = new Map<string, LeaseItem[]>();
    for (const l of active) {
      if (!l.owner || l.owner === this.#runId || l.takeRequestedBy) continue;
      askable.set(l.owner, [...(askable.get(l.owner) ?? []), l]);
    }
    let asked = 0;
    while (have < target) {
      const [owner, theirs] = [...askable.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
      if (!owner || !theirs || theirs.length < have + 2) break;
      const victim = theirs.pop()!;
      if (await this.#o.leases.store.requestTake(victim.partition, owner, this.#runId)) {
        have += 1;
        asked += 1;
        this.#o.log.info('asked for a lease to balance the load', { partition: victim.partition, owner, theirs: theirs.length + 1, mine: have - 1 });
      }
    }
    return pending + asked > 0;
  }
}
