/**
 * processor/sources/kinesis/shard-reader: toSourceRecords (a GetRecords response's records ->
 * source records) against the implementation it replaced, kept here as the reference: plain
 * records, KPL aggregates with and without explicit hash keys, a corrupt aggregate, a resume
 * inside an aggregate, missing arrival times and keys.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { _Record } from '@aws-sdk/client-kinesis';
import { aggregate, deaggregate } from '../../processor/sources/kinesis/kpl.js';
import { FULL_RATE_BYTES_PER_CALL, READ_BYTES_IN_FLIGHT, recordsPerCall, toSourceRecords, type AggregateSkip } from '../../processor/sources/kinesis/shard-reader.js';
import type { SourceRecord } from '../../processor/sources/types.js';

/** The per-record conversion as the shard reader did it before (object spreads, deaggregate for every record). */
function reference(records: readonly _Record[], streamName: string, shardId: string, skip: AggregateSkip | undefined): SourceRecord[] {
  const batch: SourceRecord[] = [];
  for (const r of records) {
    const sequenceNumber = r.SequenceNumber ?? '';
    const arrival = r.ApproximateArrivalTimestamp ? { arrivalTimeMs: r.ApproximateArrivalTimestamp.getTime() } : {};
    const origin = (position: string, keys: { partitionKey?: string; explicitHashKey?: string | undefined }): SourceRecord['origin'] => ({
      source: 'kinesis',
      stream: streamName,
      shard: shardId,
      position,
      ...arrival,
      ...(keys.partitionKey !== undefined ? { partitionKey: keys.partitionKey } : {}),
      ...(keys.explicitHashKey !== undefined ? { explicitHashKey: keys.explicitHashKey } : {}),
    });
    const data = r.Data ?? new Uint8Array(0);
    const result = deaggregate({ data, sequenceNumber, partitionKey: r.PartitionKey ?? '' });
    if (!result.ok) {
      batch.push({ data, origin: origin(sequenceNumber, { partitionKey: r.PartitionKey ?? '' }), rejected: result.error.message });
      continue;
    }
    for (const user of result.records) {
      if (skip && user.sequenceNumber === skip.sequenceNumber && user.subSequenceNumber !== undefined && BigInt(user.subSequenceNumber) <= skip.through) continue;
      const position = user.subSequenceNumber === undefined ? sequenceNumber : `${sequenceNumber}:${user.subSequenceNumber}`;
      batch.push({ data: user.data, origin: origin(position, user) });
    }
  }
  return batch;
}

/** Source records as JSON (key order included, as the dead letters write origins) plus the data bytes. */
function comparable(records: readonly SourceRecord[]): string[] {
  return records.map((r) => JSON.stringify({ ...r, data: Buffer.from(r.data).toString('hex') }));
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function responseRecords(): _Record[] {
  const users = Array.from({ length: 7 }, (_, i) => ({ data: text(`{"trip_id":${i}}`), partitionKey: `user-${i}`, ...(i % 3 === 0 ? { explicitHashKey: String(10n ** 30n + BigInt(i)) } : {}) }));
  const [agg] = aggregate(users);
  assert.ok(agg?.aggregated);
  const corrupt = Uint8Array.from(agg.data);
  corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 0xff;
  return [
    { Data: text('{"trip_id":1}'), SequenceNumber: '100', PartitionKey: 'p1', ApproximateArrivalTimestamp: new Date(1764150000123) },
    { Data: agg.data, SequenceNumber: '101', PartitionKey: agg.partitionKey, ApproximateArrivalTimestamp: new Date(-5) },
    { Data: corrupt, SequenceNumber: '102', PartitionKey: 'p3' },
    { Data: new Uint8Array(0), SequenceNumber: '103', PartitionKey: 'ünïcode' },
    { SequenceNumber: '104' } as _Record, // the SDK's types require Data; the conversion does not rely on it
    { Data: text('plain'), PartitionKey: 'no sequence number', ApproximateArrivalTimestamp: new Date(Number.NaN) } as _Record,
    { Data: agg.data, SequenceNumber: '105', PartitionKey: agg.partitionKey },
  ];
}

describe('toSourceRecords: the same source records as before', () => {
  const cases: [string, AggregateSkip | undefined][] = [
    ['no resume', undefined],
    ['resume inside the first aggregate', { sequenceNumber: '101', through: 3n }],
    ['resume after the whole aggregate', { sequenceNumber: '101', through: 6n }],
    ['resume position of another record', { sequenceNumber: '100', through: 0n }],
  ];
  for (const [name, skip] of cases) {
    test(name, () => {
      const records = responseRecords();
      const got = toSourceRecords(records, 'stream-a', 'shardId-000000000001', skip);
      const expected = reference(records, 'stream-a', 'shardId-000000000001', skip);
      assert.deepEqual(comparable(got), comparable(expected));
      assert.deepEqual(got, expected);
      assert.ok(got.some((r) => r.rejected !== undefined) && got.some((r) => r.origin.explicitHashKey !== undefined));
    });
  }
});

describe('recordsPerCall (the Limit of a GetRecords call)', () => {
  test('one or two shards of TripEvent-sized records ask for the service maximum; 16 shards for their share; never below the full read rate', () => {
    assert.equal(recordsPerCall(10_000, 1, 410), 10_000);
    assert.equal(recordsPerCall(10_000, 2, 410), 10_000);
    assert.equal(recordsPerCall(10_000, 8, 410), Math.floor(READ_BYTES_IN_FLIGHT / 8 / 410));
    assert.equal(recordsPerCall(10_000, 16, 410), Math.floor(READ_BYTES_IN_FLIGHT / 16 / 410));
    // 64 shards: the share (213 KB) is below the full read rate per call, which wins
    assert.equal(recordsPerCall(10_000, 64, 410), Math.floor(FULL_RATE_BYTES_PER_CALL / 410));
    // The full read rate holds: 2.5 calls a second of that Limit read 2 MiB/s
    assert.ok(2.5 * recordsPerCall(10_000, 1000, 410) * 410 >= 2 * 1024 * 1024 - 410 * 2.5);
  });

  test('before the first records, with huge or tiny records, and with a lower configured maximum', () => {
    assert.equal(recordsPerCall(10_000, 16, undefined), 10_000, 'size unknown: the maximum');
    assert.equal(recordsPerCall(10_000, 16, 0), 10_000, 'records of no data: the maximum');
    assert.equal(recordsPerCall(10_000, 16, 1024 * 1024), 1, 'records of 1 MiB: one at a time');
    assert.equal(recordsPerCall(10_000, 16, 10), 10_000, 'tiny records: the maximum');
    assert.equal(recordsPerCall(500, 2, 410), 500, 'never above the configured maximum');
    assert.equal(recordsPerCall(10_000, 0, 410), 10_000, 'no reader counted yet: the maximum');
  });
});

