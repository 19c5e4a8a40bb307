/**
 * The Kinesis source: reads every shard of a stream. It lists the shards (ListShards, paginated),
 * starts one reader per shard that is ready, and re-lists when a shard ends and periodically, so
 * that after a reshard the children are picked up only once their parents are read to the end
 * (per-key order is kept across a split or merge).
 *
 * Where a shard starts: after its checkpointed position if it has one; at TRIM_HORIZON if it is a
 * child of a shard this application has read (so nothing written to it is missed); otherwise at
 * `InputStreamInitalPosition`. With LATEST or AT_TIMESTAMP and no checkpoint, shards that were
 * already closed are not read (as the KCL does).
 */
import { KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { baseClientConfig } from '../../../common/aws.js';
import type { Logger } from '../../../common/log.js';
import { retry, sleep } from '../../../common/retry.js';
import type { InitialPosition } from '../../config/types.js';
import { SHARD_END } from '../../checkpoint/types.js';
import type { EmitBatch, Source } from '../types.js';
import { SourceError } from '../errors.js';
import { initialIterator, iteratorFor, startSentinel } from './positions.js';
import { DEFAULT_SHARD_READ_LIMITS, readShard, type ShardReadLimits } from './shard-reader.js';

/** What the Kinesis source needs. */
export interface KinesisSourceOptions {
  readonly streamName: string;
  readonly streamArn?: string;
  readonly region?: string;
  readonly initialPosition: InitialPosition;
  readonly log: Logger;
  /** An existing client; one is created otherwise. */
  readonly client?: KinesisClient;
  /** How often to list the shards again to discover new ones. @default 30000 */
  readonly shardDiscoveryIntervalMs?: number;
  readonly limits?: Partial<ShardReadLimits>;
}

/** Reads a Kinesis data stream, every shard, in order per shard. */
export class KinesisSource implements Source {
  readonly description: string;
  readonly failed: Promise<Error>;
  readonly #options: KinesisSourceOptions;
  readonly #client: KinesisClient;
  readonly #ownsClient: boolean;
  readonly #abort = new AbortController();
  readonly #readers = new Map<string, Promise<void>>();
  readonly #ended = new Set<string>();
  /** Shards closed before a LATEST/AT_TIMESTAMP start: not read, and their children count as roots. */
  readonly #skipped = new Set<string>();
  readonly #lag = new Map<string, number>();
  #fail!: (error: Error) => void;
  #discovery: Promise<void> | undefined;
  /** Set when a shard ends: list the shards again now, not at the next interval. */
  #rescan = false;
  #wake: (() => void) | undefined;
  #positions: Readonly<Record<string, string>> = {};
  #firstListing = true;

  constructor(options: KinesisSourceOptions) {
    this.#options = options;
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new KinesisClient(baseClientConfig(options.region ? { region: options.region } : {}));
    this.description = `kinesis:${options.streamName}`;
    this.failed = new Promise((resolve) => {
      this.#fail = resolve;
    });
  }

  async start(positions: Readonly<Record<string, string>>, emit: EmitBatch): Promise<void> {
    this.#positions = positions;
    for (const [shard, position] of Object.entries(positions)) if (position === SHARD_END) this.#ended.add(shard);
    await this.#schedule(emit);
    this.#discovery = this.#discover(emit);
  }

  millisBehindLatest(): number {
    let max = 0;
    for (const lag of this.#lag.values()) if (lag > max) max = lag;
    return max;
  }

  activeShards(): number {
    return this.#readers.size;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#discovery;
    await Promise.all(this.#readers.values());
    if (this.#ownsClient) this.#client.destroy();
  }

  async #listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    const streamRef = this.#options.streamArn ? { StreamARN: this.#options.streamArn } : { StreamName: this.#options.streamName };
    try {
      do {
        const token = nextToken;
        const page = await retry(
          () => this.#client.send(new ListShardsCommand(token ? { NextToken: token } : { ...streamRef })),
          { signal: this.#abort.signal },
        );
        shards.push(...(page.Shards ?? []));
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (error) {
      throw new SourceError(`could not list the shards of ${this.#options.streamName}`, { cause: error });
    }
    return shards;
  }

  /**
   * Starts a reader for every shard that is ready and not yet read. Passes repeat until nothing
   * changes, since marking a closed parent as skipped can make its children ready.
   */
  async #schedule(emit: EmitBatch): Promise<void> {
    const shards = await this.#listShards();
    const known = new Set(shards.map((s) => s.ShardId));
    const first = this.#firstListing;
    this.#firstListing = false;
    for (let changed = true; changed; ) {
      changed = false;
      for (const shard of shards) {
        const id = shard.ShardId;
        if (!id || this.#readers.has(id) || this.#ended.has(id)) continue;
        const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter(
          (p): p is string => !!p && known.has(p) && !this.#skipped.has(p),
        );
        const checkpointed = this.#positions[id];
        const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        if (checkpointed !== undefined) {
          const start = iteratorFor(checkpointed);
          if (start) this.#startReader(id, start, checkpointed, emit);
          else this.#ended.add(id);
        } else if (first && closed && this.#options.initialPosition.type !== 'TRIM_HORIZON') {
          // Closed before we started, and we start at the tip or a time: nothing of it is wanted.
          this.#ended.add(id);
          this.#skipped.add(id);
        } else if (parents.length > 0) {
          // A child: read from its start, once every parent is read to its end.
          if (!parents.every((p) => this.#ended.has(p))) continue;
          this.#startReader(id, { ShardIteratorType: 'TRIM_HORIZON' }, 'TRIM_HORIZON', emit);
        } else {
          this.#startReader(id, initialIterator(this.#options.initialPosition), startSentinel(this.#options.initialPosition, Date.now()), emit);
        }
        changed = true;
      }
    }
  }

  #startReader(shardId: string, start: NonNullable<ReturnType<typeof iteratorFor>>, startPosition: string, emit: EmitBatch): void {
    const log = this.#options.log;
    log.info('reading shard', { shard: shardId, from: startPosition });
    const reader = readShard({
      client: this.#client,
      streamName: this.#options.streamName,
      ...(this.#options.streamArn ? { streamArn: this.#options.streamArn } : {}),
      shardId,
      start,
      startPosition,
      emit,
      signal: this.#abort.signal,
      log,
      limits: { ...DEFAULT_SHARD_READ_LIMITS, ...this.#options.limits },
      onLag: (ms) => this.#lag.set(shardId, ms),
    }).then(
      (outcome) => {
        this.#readers.delete(shardId);
        this.#lag.delete(shardId);
        if (outcome === 'ended') {
          this.#ended.add(shardId);
          this.#rescan = true;
          this.#wake?.();
        }
      },
      (error: unknown) => {
        this.#readers.delete(shardId);
        if (!this.#abort.signal.aborted) this.#fail(error instanceof Error ? error : new SourceError(String(error)));
      },
    );
    this.#readers.set(shardId, reader);
  }

  /** Lists the shards again periodically, and at once when a shard ends. */
  async #discover(emit: EmitBatch): Promise<void> {
    const interval = this.#options.shardDiscoveryIntervalMs ?? 30_000;
    while (!this.#abort.signal.aborted) {
      if (!this.#rescan) {
        // One wait, cut short by a shard's end or by stop (sleep clears its timer either way).
        const wait = new AbortController();
        const cut = (): void => wait.abort();
        this.#abort.signal.addEventListener('abort', cut, { once: true });
        this.#wake = cut;
        await sleep(interval, wait.signal);
        this.#wake = undefined;
        this.#abort.signal.removeEventListener('abort', cut);
      }
      this.#rescan = false;
      if (this.#abort.signal.aborted) return;
      try {
        await this.#schedule(emit);
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.#options.log.warn('shard discovery failed; will try again', { error });
      }
    }
  }
}
