import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Aggregator, KINESIS_MAX_RECORD_BYTES, KPL_MAGIC, aggregate, deaggregate } from '../../processor/sources/kinesis/kpl.js';
import { KplFormatError, KplPositionError, KplRecordRejectedError } from '../../processor/sources/kinesis/kpl-errors.js';
import type { UserRecordIn } from '../../processor/sources/kinesis/kpl-types.js';
import {
  compareUserRecordPositions,
  formatUserRecordPosition,
  isAfterPosition,
  isUserRecordPosition,
  parseUserRecordPosition,
  resumeAfter,
} from '../../processor/sources/kinesis/kpl-position.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Protobuf building blocks written out by hand from the published .proto, independent of kpl.ts. */
function varint(n: bigint): number[] {
  const out: number[] = [];
  while (n >= 128n) {
    out.push(Number(n & 127n) | 128);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}
function field(number: number, wire: number): number[] {
  return varint(BigInt((number << 3) | wire));
}
function bytesField(number: number, payload: number[]): number[] {
  return [...field(number, 2), ...varint(BigInt(payload.length)), ...payload];
}
function strField(number: number, s: string): number[] {
  return bytesField(number, [...text(s)]);
}
/** Magic + body + MD5(body); `digest` overrides the MD5. */
function frame(body: number[], digest?: Uint8Array): Uint8Array {
  const md5 = digest ?? createHash('md5').update(Uint8Array.from(body)).digest();
  return Uint8Array.from([...KPL_MAGIC, ...body, ...md5]);
}
const kinesis = (data: Uint8Array, partitionKey = 'agg-key') => ({ data, sequenceNumber: '49590338271490256608559692538361571095921575989136588898', partitionKey });

/** The hand-built vector: keys ["a", "bb"], hash keys ["123"], three records (one with a tag) and an unknown field. */
function knownVector(): number[] {
  return [
    ...strField(1, 'a'),
    ...strField(1, 'bb'),
    ...strField(2, '123'),
    ...bytesField(3, [...field(1, 0), ...varint(0n), ...strField(3, 'x')]),
    ...bytesField(3, [...field(1, 0), ...varint(1n), ...field(2, 0), ...varint(0n), ...strField(3, 'yz')]),
    ...bytesField(3, [...field(1, 0), ...varint(0n), ...bytesField(3, []), ...bytesField(4, strField(1, 'tag-key'))]),
    ...field(15, 0), ...varint(7n), // a field this schema does not know: skipped
  ];
}

describe('deaggregate', () => {
  test('a hand-built aggregate gives its user records with their own keys and sub-sequence numbers', () => {
    // Given the known vector
    const result = deaggregate(kinesis(frame(knownVector())));
    // Then three user records come out, in order
    assert.ok(result.ok);
    assert.equal(result.aggregated, true);
    assert.deepEqual(
      result.records.map((r) => ({ data: str(r.data), sub: r.subSequenceNumber, pk: r.partitionKey, ehk: r.explicitHashKey, seq: r.sequenceNumber })),
      [
        { data: 'x', sub: 0, pk: 'a', ehk: undefined, seq: kinesis(new Uint8Array()).sequenceNumber },
        { data: 'yz', sub: 1, pk: 'bb', ehk: '123', seq: kinesis(new Uint8Array()).sequenceNumber },
        { data: '', sub: 2, pk: 'a', ehk: undefined, seq: kinesis(new Uint8Array()).sequenceNumber },
      ],
    );
  });

  test('a plain record passes through as one user record without a sub-sequence number', () => {
    const result = deaggregate({ ...kinesis(text('{"trip_id":1}'), 'k1'), explicitHashKey: '42' });
    assert.ok(result.ok);
    assert.equal(result.aggregated, false);
    assert.equal(result.records.length, 1);
    assert.equal(str(result.records[0]!.data), '{"trip_id":1}');
    assert.equal(result.records[0]!.subSequenceNumber, undefined);
    assert.equal(result.records[0]!.partitionKey, 'k1');
    assert.equal(result.records[0]!.explicitHashKey, '42');
  });

  test('an MD5 mismatch is one failure with both digests', () => {
    const bytes = frame(knownVector(), new Uint8Array(16).fill(0xab));
    const result = deaggregate(kinesis(bytes));
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.error instanceof KplFormatError);
    assert.equal(result.error.kind, 'digest-mismatch');
    assert.match(result.error.message, /MD5 digest mismatch: the record ends with abababab/);
    assert.match(result.error.message, /partition key "agg-key"/);
    // one flipped bit of the body is caught too
    const flipped = frame(knownVector());
    flipped[10] = (flipped[10] as number) ^ 1;
    const again = deaggregate(kinesis(flipped));
    assert.ok(!again.ok && again.error.kind === 'digest-mismatch');
  });

  test('a truncated protobuf (with a digest that matches it) is one failure: malformed', () => {
    const body = knownVector();
    for (const cut of [1, 5, body.length - 2]) {
      const result = deaggregate(kinesis(frame(body.slice(0, body.length - cut))));
      assert.ok(!result.ok, `cut ${cut}`);
      assert.equal(result.error.kind, 'malformed', `cut ${cut}: ${result.error.message}`);
      assert.match(result.error.message, /malformed protobuf AggregatedRecord: /);
    }
  });

  test('magic bytes without room for a digest are one failure: truncated', () => {
    const result = deaggregate(kinesis(Uint8Array.from([...KPL_MAGIC, 1, 2, 3])));
    assert.ok(!result.ok);
    assert.equal(result.error.kind, 'truncated');
    assert.match(result.error.message, /only 7 bytes/);
  });

  test('an empty aggregate holds no user records', () => {
    const result = deaggregate(kinesis(frame([])));
    assert.ok(result.ok);
    assert.equal(result.aggregated, true);
    assert.equal(result.records.length, 0);
  });

  test('required fields and wire types are checked', () => {
    const noData = deaggregate(kinesis(frame([...strField(1, 'a'), ...bytesField(3, [...field(1, 0), 0])])));
    assert.ok(!noData.ok);
    assert.match(noData.error.message, /record 0 has no data/);
    const noKey = deaggregate(kinesis(frame([...strField(1, 'a'), ...bytesField(3, strField(3, 'x'))])));
    assert.ok(!noKey.ok);
    assert.match(noKey.error.message, /record 0 has no partition_key_index/);
    const wrongWire = deaggregate(kinesis(frame([...field(1, 0), 5])));
    assert.ok(!wrongWire.ok);
    assert.match(wrongWire.error.message, /field 1 at byte 4 has wire type 0/);
    const outOfRange = deaggregate(kinesis(frame([...strField(1, 'a'), ...bytesField(3, [...field(1, 0), 1, ...strField(3, 'x')])])));
    assert.ok(!outOfRange.ok);
    assert.match(outOfRange.error.message, /partition_key_index 1 is out of range \(the table has 1 entries\)/);
  });

  test('64-bit indices are read exactly: never rounded onto a valid index, never wrapped', () => {
    const withIndex = (bytes: number[]): Uint8Array => frame([...strField(1, 'a'), ...bytesField(3, [...field(1, 0), ...bytes, ...strField(3, 'x')])]);
    // 2^53 + 1 would round to 2^53 as a double; 2^64 - 1 is the largest uint64
    for (const n of [2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      const result = deaggregate(kinesis(withIndex(varint(n))));
      assert.ok(!result.ok);
      assert.match(result.error.message, new RegExp(`partition_key_index ${n} is out of range`));
    }
    // 2^64 (ten bytes, over 64 bits) would wrap to 0, a valid index, if read modulo 2^64
    const overflow = deaggregate(kinesis(withIndex(varint(2n ** 64n))));
    assert.ok(!overflow.ok);
    assert.match(overflow.error.message, /over 64 bits/);
    // an 11-byte varint
    const long = deaggregate(kinesis(withIndex([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])));
    assert.ok(!long.ok);
    assert.match(long.error.message, /longer than 10 bytes/);
    // a non-minimal but in-range encoding of 0 (ten bytes) is index 0
    const padded = deaggregate(kinesis(withIndex([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])));
    assert.ok(padded.ok);
    assert.equal(padded.records[0]!.partitionKey, 'a');
  });
});

describe('aggregate', () => {
  test('encodes exactly the bytes of the hand-built vector (without its tag and unknown field)', () => {
    const records: UserRecordIn[] = [
      { data: text('x'), partitionKey: 'a' },
      { data: text('yz'), partitionKey: 'bb', explicitHashKey: '123' },
      { data: text(''), partitionKey: 'a' },
    ];
    const body = [
      ...strField(1, 'a'),
      ...strField(1, 'bb'),
      ...strField(2, '123'),
      ...bytesField(3, [...field(1, 0), 0, ...strField(3, 'x')]),
      ...bytesField(3, [...field(1, 0), 1, ...field(2, 0), 0, ...strField(3, 'yz')]),
      ...bytesField(3, [...field(1, 0), 0, ...bytesField(3, [])]),
    ];
    const [out, ...rest] = aggregate(records);
    assert.equal(rest.length, 0);
    assert.deepEqual([...out!.data], [...frame(body)]);
    assert.equal(out!.partitionKey, 'a');
    assert.equal(out!.explicitHashKey, undefined);
    assert.equal(out!.userRecords, 3);
  });

  test('round trip: mixed keys and hash keys, many aggregates within the size limit, every record back in order', () => {
    // Given 2,000 records of varying size, 50 distinct keys, some with explicit hash keys
    const records: UserRecordIn[] = Array.from({ length: 2000 }, (_, i) => ({
      data: text(`{"n":${i},"pad":"${'p'.repeat((i * 37) % 900)}"}`),
      partitionKey: `key-${i % 50}-é`,
      ...(i % 7 === 0 ? { explicitHashKey: String(2n ** 127n + BigInt(i)) } : {}),
    }));
    const maxBytes = 64 * 1024;
    // When aggregated and de-aggregated
    const aggregates = aggregate(records, { maxBytes });
    assert.ok(aggregates.length > 10, `${aggregates.length} aggregates`);
    const back: UserRecordIn[] = [];
    aggregates.forEach((a, i) => {
      const size = a.data.byteLength + Buffer.byteLength(a.partitionKey, 'utf8');
      assert.ok(size <= maxBytes, `aggregate ${i} is ${size} bytes`);
      const result = deaggregate({ data: a.data, sequenceNumber: String(1000 + i), partitionKey: a.partitionKey });
      assert.ok(result.ok && result.aggregated);
      assert.equal(result.records.length, a.userRecords);
      assert.equal(a.partitionKey, result.records[0]!.partitionKey, 'an aggregate is put with its first record\'s key');
      result.records.forEach((r, sub) => assert.equal(r.subSequenceNumber, sub));
      back.push(...result.records.map((r) => ({ data: r.data, partitionKey: r.partitionKey, ...(r.explicitHashKey === undefined ? {} : { explicitHashKey: r.explicitHashKey }) })));
    });
    // Then every user record is back, in order, with its own keys
    assert.deepEqual(
      back.map((r) => [str(r.data), r.partitionKey, r.explicitHashKey]),
      records.map((r) => [str(r.data), r.partitionKey, r.explicitHashKey]),
    );
  });

  test('aggregates fill up to the Kinesis 1 MiB limit, never past it', () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ data: new Uint8Array(100_000 + i), partitionKey: `k${i}` }));
    const aggregates = aggregate(records);
    assert.equal(aggregates.reduce((n, a) => n + a.userRecords, 0), 40);
    for (const a of aggregates) assert.ok(a.data.byteLength + a.partitionKey.length <= KINESIS_MAX_RECORD_BYTES);
    // ten ~100 kB records fit in 1 MiB, an eleventh does not
    assert.deepEqual(aggregates.map((a) => a.userRecords), [10, 10, 10, 10]);
  });

  test('maxRecords caps the user records per aggregate', () => {
    const aggregates = aggregate(Array.from({ length: 25 }, (_, i) => ({ data: text(String(i)), partitionKey: 'k' })), { maxRecords: 10 });
    assert.deepEqual(aggregates.map((a) => a.userRecords), [10, 10, 5]);
  });

  test('a record too large to share an aggregate passes through plain; one over the Kinesis limit is rejected naming it', () => {
    const aggregator = new Aggregator();
    assert.deepEqual(aggregator.add({ data: text('small'), partitionKey: 's' }), []);
    // exactly at the limit on its own: the open aggregate is closed, then the record goes as it is
    const big = { data: new Uint8Array(KINESIS_MAX_RECORD_BYTES - 3), partitionKey: 'big' };
    const out = aggregator.add(big);
    assert.deepEqual(out.map((o) => [o.aggregated, o.userRecords, o.partitionKey]), [[true, 1, 's'], [false, 1, 'big']]);
    assert.equal(out[1]!.data, big.data);
    assert.equal(deaggregate({ data: out[1]!.data, sequenceNumber: '1', partitionKey: 'big' }).ok, true);
    // one byte more is rejected, and nothing is taken
    assert.throws(() => aggregator.add({ data: new Uint8Array(KINESIS_MAX_RECORD_BYTES - 2), partitionKey: 'big' }), (error: unknown) => {
      assert.ok(error instanceof KplRecordRejectedError);
      assert.equal(error.field, 'data');
      assert.match(error.message, /1048577 bytes \(data 1048574 \+ partition key 3\) is over the 1048576-byte/);
      return true;
    });
    assert.equal(aggregator.pending, 0);
  });

  test('invalid keys are rejected naming the field and the value', () => {
    assert.throws(() => aggregate([{ data: text('x'), partitionKey: '' }]), /partitionKey must have 1 to 256 characters, got ""/);
    assert.throws(() => aggregate([{ data: text('x'), partitionKey: 'k'.repeat(257) }]), /partitionKey must have 1 to 256/);
    assert.throws(() => aggregate([{ data: text('x'), partitionKey: 'k', explicitHashKey: String(2n ** 128n) }]), /explicitHashKey must be a decimal integer in \[0, 2\^128\), got "340282366920938463463374607431768211456"/);
    assert.throws(() => aggregate([{ data: text('x'), partitionKey: 'k', explicitHashKey: '0x10' }]), KplRecordRejectedError);
  });
});

describe('user-record positions', () => {
  test('parse and format: a whole record, a user record, 64-bit sub-sequence numbers exactly', () => {
    assert.deepEqual(parseUserRecordPosition('49590338271490256608559692538361571095921575989136588898'), {
      sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
      subSequenceNumber: undefined,
    });
    const max = parseUserRecordPosition('12:18446744073709551615');
    assert.equal(max.subSequenceNumber, 18446744073709551615n);
    assert.equal(formatUserRecordPosition(max), '12:18446744073709551615');
    assert.equal(formatUserRecordPosition({ sequenceNumber: '7', subSequenceNumber: 0n }), '7:0');
  });

  test('bad positions are rejected naming the value', () => {
    for (const bad of ['', 'TRIM_HORIZON', 'AT_TIMESTAMP:1700000000000', 'SHARD_END', '12:', '12:-1', '012', '12:01', '12:18446744073709551616', '1:2:3', '12:1e3']) {
      assert.equal(isUserRecordPosition(bad), false, bad);
      assert.throws(() => parseUserRecordPosition(bad), (e: unknown) => e instanceof KplPositionError && e.value === bad && e.message.includes(JSON.stringify(bad)), bad);
    }
  });

  test('order: by sequence number as a 128-bit decimal, then sub-sequence number (exactly, past 2^53), a whole record last', () => {
    const p = (s: string) => parseUserRecordPosition(s);
    const sorted = ['9', '10:0', '10:9007199254740992', '10:9007199254740993', '10:18446744073709551615', '10', '49590338271490256608559692538361571095921575989136588898:3'];
    const shuffled = [...sorted].reverse();
    shuffled.sort((a, b) => compareUserRecordPositions(p(a), p(b)));
    assert.deepEqual(shuffled, sorted);
    assert.equal(compareUserRecordPositions(p('10:5'), p('10:5')), 0);
  });

  test('resume: after a whole record, or inside an aggregate skipping what was committed', () => {
    assert.deepEqual(resumeAfter(parseUserRecordPosition('10')), { shardIteratorType: 'AFTER_SEQUENCE_NUMBER', startingSequenceNumber: '10', skipThroughSubSequence: undefined });
    assert.deepEqual(resumeAfter(parseUserRecordPosition('10:4')), { shardIteratorType: 'AT_SEQUENCE_NUMBER', startingSequenceNumber: '10', skipThroughSubSequence: 4n });
    // Given an aggregate of 8 user records at sequence number 10, checkpointed after sub 4
    const [agg] = aggregate(Array.from({ length: 8 }, (_, i) => ({ data: text(String(i)), partitionKey: 'k' })));
    const result = deaggregate({ data: agg!.data, sequenceNumber: '10', partitionKey: 'k' });
    assert.ok(result.ok);
    const position = parseUserRecordPosition('10:4');
    // Then a resumed reader processes exactly subs 5, 6, 7, and every record of a later aggregate
    assert.deepEqual(result.records.filter((r) => isAfterPosition(r, position)).map((r) => r.subSequenceNumber), [5, 6, 7]);
    assert.equal(isAfterPosition({ sequenceNumber: '11', subSequenceNumber: 0 }, position), true);
    assert.equal(isAfterPosition({ sequenceNumber: '10', subSequenceNumber: 7 }, parseUserRecordPosition('10')), false);
  });
});
