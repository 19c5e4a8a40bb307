/**
 * Which open shard of a stream a record goes to, as Kinesis decides: the MD5 of the partition key
 * read as a 128-bit big-endian integer (or the explicit hash key), placed in the shards' hash key
 * ranges. `--aggregate` packs only records of one shard into an aggregate, as the KPL does, so every
 * user record lands on the shard it would have landed on alone and per-key order holds.
 */
import { retry } from '../common/retry.js';
import { createHash } from 'node:crypto';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ReplayError } from './errors.js';

/** Maps records to the open shards of a stream as listed at one moment. */
export interface ShardMap {
  /** The open shards listed. */
  readonly shards: number;
  /** The id of the shard a record goes to. */
  shardOf(partitionKey: string, explicitHashKey?: string): string;
}

interface Range {
  readonly id: string;
  readonly start: bigint;
  readonly end: bigint;
}

/** The 128-bit hash Kinesis gives a partition key. */
export function partitionKeyHash(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/** Lists the open shards of a stream (name or ARN) and returns the map. */
export async function loadShardMap(client: KinesisClient, stream: string): Promise<ShardMap> {
  const ref = stream.startsWith('arn:') ? { StreamARN: stream } : { StreamName: stream };
  const ranges: Range[] = [];
  let token: string | undefined;
  try {
    do {
      const next = token;
      const page = await retry(() => client.send(new ListShardsCommand(next ? { NextToken: next } : ref)));
      for (const shard of page.Shards ?? []) {
        if (shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) continue; // closed
        const range = shard.HashKeyRange;
        if (!shard.ShardId || !range?.StartingHashKey || !range.EndingHashKey) continue;
        ranges.push({ id: shard.ShardId, start: BigInt(range.StartingHashKey), end: BigInt(range.EndingHashKey) });
      }
      token = page.NextToken;
    } while (token);
  } catch (error) {
    throw new ReplayError(`--aggregate needs the shards of ${stream} (kinesis:ListShards) to pack each aggregate for one shard, and listing them failed`, { cause: error });
  }
  if (ranges.length === 0) throw new ReplayError(`--aggregate: stream ${stream} has no open shard`);
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return {
    shards: ranges.length,
    shardOf(partitionKey, explicitHashKey) {
      const hash = explicitHashKey === undefined ? partitionKeyHash(partitionKey) : BigInt(explicitHashKey);
      let low = 0;
      let high = ranges.length - 1;
      while (low < high) {
        const mid = (low + high + 1) >> 1;
        if ((ranges[mid] as Range).start <= hash) low = mid;
        else high = mid - 1;
      }
      const range = ranges[low] as Range;
      // A gap in the ranges (a reshard in progress) falls to the nearest shard below: still one shard per aggregate.
      return range.id;
    },
  };
}
