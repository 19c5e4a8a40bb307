/**
 * Checkpoint positions of user records, so that a checkpoint can fall inside a KPL aggregate and
 * a restart resumes after the last committed user record (exactly-once within aggregates).
 *
 * A position string is `<sequence number>` (the whole Kinesis record is done) or
 * `<sequence number>:<sub-sequence number>` (user records 0 … sub of that aggregate are done).
 * Both numbers are unsigned decimals without leading zeros; the sub-sequence number is read as an
 * exact 64-bit value (as the KCL's `ExtendedSequenceNumber` keeps it), never rounded. Positions
 * order by sequence number, then sub-sequence number, a whole record after all of its user records.
 * The strings never collide with the shard sentinels of positions.ts (`TRIM_HORIZON`,
 * `AT_TIMESTAMP:<ms>`, `SHARD_END`), which do not start with a digit.
 */
import { KplPositionError } from './kpl-errors.js';
import type { UserRecord, UserRecordPosition } from './kpl-types.js';

const SEQUENCE = /^(0|[1-9]\d{0,127})$/;
const SUB_SEQUENCE = /^(0|[1-9]\d{0,19})$/;
const MAX_UINT64 = (1n << 64n) - 1n;

/** Whether a position string is a user-record position (rather than a shard sentinel). */
export function isUserRecordPosition(value: string): boolean {
  const colon = value.indexOf(':');
  const seq = colon === -1 ? value : value.slice(0, colon);
  if (!SEQUENCE.test(seq)) return false;
  if (colon === -1) return true;
  const sub = value.slice(colon + 1);
  return SUB_SEQUENCE.test(sub) && BigInt(sub) <= MAX_UINT64;
}

/** Parses a position string; throws a KplPositionError naming the value when it is not one. */
export function parseUserRecordPosition(value: string): UserRecordPosition {
  const colon = value.indexOf(':');
  const seq = colon === -1 ? value : value.slice(0, colon);
  if (!SEQUENCE.test(seq)) throw new KplPositionError(value, `the sequence number ${JSON.stringify(seq)} is not an unsigned decimal integer`);
  if (colon === -1) return { sequenceNumber: seq, subSequenceNumber: undefined };
  const sub = value.slice(colon + 1);
  if (!SUB_SEQUENCE.test(sub)) throw new KplPositionError(value, `the sub-sequence number ${JSON.stringify(sub)} is not an unsigned decimal integer`);
  const subSequenceNumber = BigInt(sub);
  if (subSequenceNumber > MAX_UINT64) throw new KplPositionError(value, `the sub-sequence number ${sub} is over 2^64 - 1`);
  return { sequenceNumber: seq, subSequenceNumber };
}

/** Renders a position as its string. */
export function formatUserRecordPosition(position: UserRecordPosition): string {
  return position.subSequenceNumber === undefined ? position.sequenceNumber : `${position.sequenceNumber}:${position.subSequenceNumber}`;
}

/** The position of a user record (what to checkpoint once it is committed). */
export function positionOf(record: Pick<UserRecord, 'sequenceNumber' | 'subSequenceNumber'>): UserRecordPosition {
  return { sequenceNumber: record.sequenceNumber, subSequenceNumber: record.subSequenceNumber === undefined ? undefined : BigInt(record.subSequenceNumber) };
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders two positions: negative when `a` comes first, 0 when equal, positive when `b` does. */
export function compareUserRecordPositions(a: UserRecordPosition, b: UserRecordPosition): number {
  const bySequence = compareDecimal(a.sequenceNumber, b.sequenceNumber);
  if (bySequence !== 0) return bySequence;
  if (a.subSequenceNumber === b.subSequenceNumber) return 0;
  if (a.subSequenceNumber === undefined) return 1;
  if (b.subSequenceNumber === undefined) return -1;
  return a.subSequenceNumber < b.subSequenceNumber ? -1 : 1;
}

/**
 * How to resume a shard after a position: the iterator to ask for, and the highest sub-sequence
 * number of that first record to skip (undefined: skip nothing). A whole-record position resumes
 * after it; a position inside an aggregate re-reads that aggregate and skips what was committed.
 */
export function resumeAfter(position: UserRecordPosition): {
  readonly shardIteratorType: 'AFTER_SEQUENCE_NUMBER' | 'AT_SEQUENCE_NUMBER';
  readonly startingSequenceNumber: string;
  readonly skipThroughSubSequence: bigint | undefined;
} {
  return position.subSequenceNumber === undefined
    ? { shardIteratorType: 'AFTER_SEQUENCE_NUMBER', startingSequenceNumber: position.sequenceNumber, skipThroughSubSequence: undefined }
    : { shardIteratorType: 'AT_SEQUENCE_NUMBER', startingSequenceNumber: position.sequenceNumber, skipThroughSubSequence: position.subSequenceNumber };
}

/** Whether a user record comes after a checkpointed position, so a resumed reader must process it. */
export function isAfterPosition(record: Pick<UserRecord, 'sequenceNumber' | 'subSequenceNumber'>, position: UserRecordPosition): boolean {
  return compareUserRecordPositions(positionOf(record), position) > 0;
}
