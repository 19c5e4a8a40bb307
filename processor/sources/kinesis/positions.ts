/**
 * The position strings a Kinesis shard's checkpoint holds, and the shard iterator each resumes with:
 * a sequence number (resume after it), `<seq>:<sub>` (inside a KPL aggregate: resume at it, the
 * reader skipping user records 0…sub), `TRIM_HORIZON`, `AT_TIMESTAMP:<epoch ms>` (a shard that was
 * started but had no record yet), or `SHARD_END` (read to its end).
 */
import type { GetShardIteratorCommandInput } from '@aws-sdk/client-kinesis';
import type { InitialPosition } from '../../config/types.js';
import { SHARD_END } from '../../checkpoint/types.js';

const AT_TIMESTAMP_PREFIX = 'AT_TIMESTAMP:';

/** The position recorded for a shard when it starts from `initial`, before any record. */
export function startSentinel(initial: InitialPosition, nowMs: number): string {
  switch (initial.type) {
    case 'TRIM_HORIZON':
      return 'TRIM_HORIZON';
    case 'AT_TIMESTAMP':
      return `${AT_TIMESTAMP_PREFIX}${initial.timestamp.getTime()}`;
    case 'LATEST':
      return `${AT_TIMESTAMP_PREFIX}${nowMs}`;
  }
}

/** The GetShardIterator parameters that resume from a position string, or undefined for SHARD_END. */
export function iteratorFor(position: string): Pick<GetShardIteratorCommandInput, 'ShardIteratorType' | 'StartingSequenceNumber' | 'Timestamp'> | undefined {
  if (position === SHARD_END) return undefined;
  if (position === 'TRIM_HORIZON') return { ShardIteratorType: 'TRIM_HORIZON' };
  if (position === 'LATEST') return { ShardIteratorType: 'LATEST' };
  if (position.startsWith(AT_TIMESTAMP_PREFIX)) {
    return { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(Number(position.slice(AT_TIMESTAMP_PREFIX.length))) };
  }
  const colon = position.indexOf(':');
  // Inside a KPL aggregate: read that record again; the reader skips its committed user records.
  if (colon > 0) return { ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: position.slice(0, colon) };
  return { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: position };
}

/** The GetShardIterator parameters of a shard's first start from the configured initial position. */
export function initialIterator(initial: InitialPosition): Pick<GetShardIteratorCommandInput, 'ShardIteratorType' | 'Timestamp'> {
  return initial.type === 'AT_TIMESTAMP' ? { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: initial.timestamp } : { ShardIteratorType: initial.type };
}
