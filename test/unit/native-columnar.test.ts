/**
 * The native columnar addon against the JS decoder, record by record: it must never accept what
 * the JS decoder refuses, and every value it writes must be the JS decoder's (read back from its
 * Parquet output with parquet-wasm's reader and apache-arrow). The addon may refuse more (the JS
 * decoder then decides), but on this corpus it refuses nothing the JS decoder accepts except the
 * listed case. Needs the addon: `bash scripts/build-native.sh` (npm ci runs it).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { createDecoder, loadSchema, parseSchema } from '../../processor/formats/index.js';
import type { EventSchema, EventValue } from '../../processor/formats/index.js';
import { loadNative, type NativeColumnar, type NativeModule } from '../../processor/formats/native.js';
import { canonicalJson } from '../../processor/sinks/s3/native-parquet-sink.js';
import { toJson, tripEvent } from './formats-factory.js';
import { aggregate } from '../../processor/sources/kinesis/kpl.js';
import { parseGetRecordsBody } from '../../processor/sources/kinesis/get-records.js';

/** A GetRecords response body as the service writes it. */
function responseBody(datas: readonly Uint8Array[], extra: Record<string, unknown> = {}): Buffer {
  const records = datas.map((d, i) => ({
    Data: Buffer.from(d).toString('base64'),
    PartitionKey: `k${i}`,
    SequenceNumber: (49650000000000000000000000000000000000000000000000000000n + BigInt(i)).toString(),
    ApproximateArrivalTimestamp: 1764000000.123 + i / 1000,
  }));
  return Buffer.from(JSON.stringify({ Records: records, NextShardIterator: 'AAAA+/==', MillisBehindLatest: 7, ...extra }));
}

function native(): NativeModule {
  const loaded = loadNative();
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

/** Every field type, required and nullable. */
const ALL_TYPES: EventSchema = parseSchema(
  {
    name: 'AllTypes',
    fields: [
      { name: 'i', type: 'int' },
      { name: 'l', type: 'long' },
      { name: 'd', type: 'double' },
      { name: 's', type: 'string' },
      { name: 'b', type: 'boolean' },
      { name: 't', type: 'timestamp-millis' },
      { name: 'ni', type: 'int', nullable: true },
      { name: 'nl', type: 'long', nullable: true },
      { name: 'nd', type: 'double', nullable: true },
      { name: 'ns', type: 'string', nullable: true },
      { name: 'nb', type: 'boolean', nullable: true },
      { name: 'nt', type: 'timestamp-millis', nullable: true },
    ],
  },
  'test',
);

const BASE = '"i":1,"l":2,"d":0.5,"s":"x","b":true,"t":"2018-01-01T07:21:05.000Z"';
/** A valid AllTypes record with `extra` text after the base fields (it may override them). */
const rec = (extra = ''): string => `{${BASE}${extra === '' ? '' : `,${extra}`}}`;

/** Records that exercise every rule of decode.ts; each is judged by both decoders. */
const EDGE_CASES: readonly (string | Uint8Array)[] = [
  rec(),
  // ints
  rec('"i":1.0'), rec('"i":1e2'), rec('"i":-0'), rec('"i":2147483647'), rec('"i":-2147483648'), rec('"i":2147483648'),
  rec('"i":-2147483649'), rec('"i":1.5'), rec('"i":"1"'), rec('"i":true'), rec('"i":null'), rec('"i":1E+2'), rec('"i":10e-1'),
  rec('"i":01'), rec('"i":+1'), rec('"i":.5'), rec('"i":1.'), rec('"i":-'), rec('"i":1e'), rec('"i":0.0000001e7'),
  // longs
  rec('"l":9007199254740991'), rec('"l":9007199254740993'), rec('"l":9223372036854775807'), rec('"l":-9223372036854775808'),
  rec('"l":9223372036854775808'), rec('"l":-9223372036854775809'), rec('"l":9.2e18'), rec('"l":9.3e18'), rec('"l":12.0'),
  rec('"l":1.00000000000000001'), rec('"l":9007199254740993.5'), rec('"l":1.5'), rec('"l":1e400'), rec('"l":"123"'),
  rec('"l":"-0042"'), rec('"l":"-"'), rec('"l":""'), rec('"l":" 1"'), rec('"l":"9223372036854775807"'), rec('"l":"9223372036854775808"'),
  rec(`"l":"${'1'.repeat(41)}"`), rec('"l":"1e3"'), rec('"l":-0'), rec('"l":1e2'), rec('"l":92233720368547758070e-1'),
  // doubles
  rec('"d":-0'), rec('"d":-0.0'), rec('"d":1e400'), rec('"d":-1e400'), rec('"d":1e-400'), rec('"d":0.1'), rec('"d":123456789012345678901234567890'),
  rec('"d":2.2250738585072011e-308'), rec('"d":"1"'), rec('"d":1.7976931348623157e308'), rec('"d":5e-324'),
  // strings
  rec('"s":""'), rec('"s":"\\u00e9\\ud83d\\ude00"'), rec('"s":"\\ud800"'), rec('"s":"\\udc00x"'), rec('"s":"a\\ud800\\ud800b"'),
  rec('"s":"é😀"'), rec('"s":"\\"\\\\\\/\\b\\f\\n\\r\\t"'), rec('"s":"\\x"'), rec('"s":"\\u12"'), rec('"s":"a\tb"'), rec('"s":1'),
  rec('"s":"\\u0000"'), rec('"s":"\\uD83D\\uDE00"'),
  // booleans
  rec('"b":false'), rec('"b":"true"'), rec('"b":1'), rec('"b":tru'),
  // timestamps
  rec('"t":"2018-01-01T07:21:05Z"'), rec('"t":"2018-01-01T07:21Z"'), rec('"t":"2018-01-01t07:21:05.123456z"'), rec('"t":"2018-01-01 07:21:05+05:30"'),
  rec('"t":"2018-01-01T07:21:05-0800"'), rec('"t":"2018-01-01T07:21:05"'), rec('"t":"2018-02-29T00:00:00Z"'), rec('"t":"2016-02-29T00:00:00Z"'),
  rec('"t":"2018-01-01T24:00:00Z"'), rec('"t":"2018-01-01T07:60:00Z"'), rec('"t":"2018-01-01T07:21:05.Z"'), rec('"t":"0001-01-01T00:00:00Z"'),
  rec('"t":"1969-12-31T23:59:59.999Z"'), rec('"t":1514791265000'), rec('"t":-1'), rec('"t":8.64e15'), rec('"t":8640000000000001'),
  rec('"t":1.5'), rec('"t":1514791265000.0'), rec('"t":"2018-01-01T07:21:05+24:00"'), rec('"t":"２018-01-01T07:21:05Z"'), rec('"t":null'),
  rec('"t":"2018-01-01T07:21:05.000Z "'),
  // nullables: missing, null, and values
  rec('"ni":null,"nl":null,"nd":null,"ns":null,"nb":null,"nt":null'), rec('"ni":7,"nl":"8","nd":-0,"ns":"y","nb":false,"nt":0'),
  rec('"ni":"7"'), rec('"nt":"bad"'),
  // missing and duplicated fields
  '{"l":2,"d":0.5,"s":"x","b":true,"t":0}', rec('"i":"bad","i":3'), rec('"i":3,"i":"bad"'), rec('"i\\u0000":5'), '{"\\u0069":9,"l":2,"d":0.5,"s":"x","b":true,"t":0}',
  // unknown fields of every shape
  rec('"extra":{"a":[1,2,{"b":null}],"c":"\\u00e9"}'), rec('"extra":[[[[[]]]]]'), rec('"extra":{"a":}'), rec('"extra":[1,]'), rec('"extra":[1 2]'),
  rec(`"extra":${'['.repeat(20_000)}${']'.repeat(20_000)}`), rec('"extra":"\\ud800"'), rec('"extra":tru'), rec('"extra":nul'), rec('"extra":-'),
  // the document as a whole
  '', ' ', '[]', '1', '"x"', 'null', `${rec()} x`, `${rec()}\n`, ` \t\r\n${rec()} \n`, `${rec()}}`, '{', '{"i":1', rec().slice(0, -1) + ',}',
  new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(rec())]),
  new Uint8Array([...Buffer.from(rec('"s":"')).subarray(0, -1), 0xff, 0x22, 0x7d]),
  Buffer.concat([Buffer.from(rec('"s":"').slice(0, -1)), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
  Buffer.concat([Buffer.from(rec('"extra":"').slice(0, -1)), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
  rec('"s":"\u0001"'), '{"i":1,"i":2,' + BASE.slice(6) + '}',
];

/** Records the addon may refuse although the JS decoder accepts them (it then decides). */
const ALLOWED_NATIVE_REFUSALS = new Set([EDGE_CASES.findIndex((r) => typeof r === 'string' && r.includes('['.repeat(20_000)))]);

/** Reads a Parquet file back as rows of JS values (bigint for Int64, numbers for timestamps). */
function readRows(file: Uint8Array, schema: EventSchema): EventValue[][] {
  const table = tableFromIPC(readParquet(file).intoIPCStream());
  const columns = schema.fields.map((f) => table.getChild(f.name));
  const rows: EventValue[][] = [];
  for (let r = 0; r < table.numRows; r += 1) {
    rows.push(columns.map((c, i) => {
      const value = c?.get(r) as unknown;
      if (value === null || value === undefined) return null;
      if (schema.fields[i]?.type === 'timestamp-millis') return Number(value);
      return value as EventValue;
    }));
  }
  return rows;
}

/** What the JS path writes for a decoded value: a lone surrogate becomes U+FFFD in UTF-8, -0 in an integer column 0. */
function written(value: EventValue, type: string | undefined): EventValue {
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('utf8');
  if (typeof value === 'number' && type !== 'double') return value + 0;
  return value;
}

interface Judged {
  readonly acceptedByNative: boolean[];
  readonly rows: EventValue[][];
}

/** Ingests records into one slot (no partitioning) and reads the file back. */
function judgeNatively(columnar: NativeColumnar, records: readonly Uint8Array[], schema: EventSchema): Judged {
  const first = columnar.ingest(records);
  if (first.tuples.length > 0) {
    assert.equal(first.tuples.length, 1, 'no key slots: one (empty) tuple');
    columnar.bind(0, 0);
    const again = columnar.ingest(records, first.unknown);
    assert.equal(again.accepted, first.unknown.length);
  }
  const refused = new Set(first.refused);
  const acceptedByNative = records.map((_, i) => !refused.has(i));
  const rows = columnar.rows(0) > 0 ? readRows(columnar.finish(0), schema) : [];
  return { acceptedByNative, rows };
}

function compare(schema: EventSchema, records: readonly Uint8Array[], allowedRefusals: ReadonlySet<number> = new Set()): { accepted: number; refused: number } {
  const columnar = new (native().Columnar)({
    fields: schema.fields.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable === true })),
    keySlots: [],
    compression: 'SNAPPY',
    createdBy: 'test',
  });
  const decode = createDecoder(schema);
  const { acceptedByNative, rows } = judgeNatively(columnar, records, schema);
  let row = 0;
  let accepted = 0;
  let refused = 0;
  records.forEach((record, i) => {
    const js = decode(record);
    const shown = Buffer.from(record).toString('utf8').slice(0, 160);
    if (!acceptedByNative[i]) {
      refused += 1;
      if (js.ok) assert.ok(allowedRefusals.has(i), `record ${i}: the addon refused what the JS decoder accepts: ${shown}`);
      return;
    }
    accepted += 1;
    assert.ok(js.ok, `record ${i}: the addon accepted what the JS decoder refuses (${js.ok ? '' : js.reason}): ${shown}`);
    const got = rows[row] as EventValue[];
    row += 1;
    js.event.values.forEach((value, f) => {
      const name = schema.fields[f]?.name;
      const want = written(value, schema.fields[f]?.type);
      const have = got[f] ?? null;
      if (typeof want === 'number' && typeof have === 'number') assert.ok(Object.is(want, have), `record ${i} field ${name}: JS ${want}, native ${have}: ${shown}`);
      else assert.deepEqual(have, want, `record ${i} field ${name}: ${shown}`);
    });
  });
  assert.equal(row, rows.length, 'every row read back belongs to an accepted record');
  return { accepted, refused };
}

describe('native columnar addon: the same verdicts and values as the JS decoder', () => {
  test('edge cases of every type, of the JSON grammar and of UTF-8', () => {
    const records = EDGE_CASES.map((r) => (typeof r === 'string' ? Buffer.from(r, 'utf8') : r));
    const { accepted, refused } = compare(ALL_TYPES, records, ALLOWED_NATIVE_REFUSALS);
    assert.ok(accepted > 40 && refused > 40, `both verdicts are exercised (accepted ${accepted}, refused ${refused})`);
  });

  test('3,000 TripEvents from the real sample, and each of them with one field mutated', async () => {
    const schema = await loadSchema('TripEvent');
    const events = Array.from({ length: 3000 }, (_, i) => tripEvent(i, i % 7 === 0 ? { padding: 'p'.repeat(i % 50) } : {}));
    const records = events.map((e) => Buffer.from(toJson(e), 'utf8'));
    assert.deepEqual(compare(schema, records), { accepted: 3000, refused: 0 });
    // Mutations: every field in turn gets a value of another kind; some stay valid (an int as 1.0).
    const replacements: readonly unknown[] = ['"x"', '1.5', '-1', 'null', 'true', '2147483648', '"2018-01-01T00:00:00Z"', '1e3', '{}', '[]'];
    const mutated: Buffer[] = [];
    schema.fields.forEach((field, f) => {
      replacements.forEach((replacement, k) => {
        const text = toJson(events[(f * 10 + k) % events.length] as Record<string, unknown>).replace(
          new RegExp(`"${field.name}":("[^"]*"|[^,}]*)`),
          `"${field.name}":${String(replacement)}`,
        );
        mutated.push(Buffer.from(text, 'utf8'));
      });
    });
    const { accepted, refused } = compare(schema, mutated);
    assert.ok(accepted > 0 && refused > 0, `mutations both pass and fail (accepted ${accepted}, refused ${refused})`);
  });

  test('the canonical JSON of a decoded event is accepted with the same values', () => {
    const decode = createDecoder(ALL_TYPES);
    const canonical = canonicalJson(ALL_TYPES);
    const records = EDGE_CASES.map((r) => (typeof r === 'string' ? Buffer.from(r, 'utf8') : r))
      .map((r) => decode(r))
      .flatMap((result) => (result.ok ? [Buffer.from(canonical(result.event.values), 'utf8')] : []));
    assert.ok(records.length > 40);
    const { refused } = compare(ALL_TYPES, records);
    assert.equal(refused, 0, 'the addon takes every canonical form');
  });

  test('partition tuples: keyed by the value or by the date unit, bound slots receive their records', () => {
    const columnar = new (native().Columnar)({
      fields: ALL_TYPES.fields.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable === true })),
      keySlots: [{ field: 0, unit: 0 }, { field: 5, unit: 86_400_000 }, { field: 9, unit: 0 }],
      compression: 'ZSTD',
      createdBy: 'test',
    });
    const records = [
      rec('"i":1,"t":"2018-01-01T00:00:00Z"'), rec('"i":1,"t":"2018-01-01T23:59:59.999Z"'), rec('"i":1,"t":"2018-01-02T00:00:00Z"'),
      rec('"i":2,"t":"2018-01-01T05:00:00Z","ns":"a"'), rec('"i":1,"t":"1969-12-31T23:59:59.999Z"'), rec('"i":1,"t":"2018-01-01T12:00:00Z","ns":"a"'),
      rec('"i":"bad"'),
    ].map((r) => Buffer.from(r, 'utf8'));
    const first = columnar.ingest(records);
    assert.deepEqual([...first.refused], [6]);
    assert.equal(first.accepted, 0, 'nothing is bound yet');
    assert.deepEqual(first.tuples, [
      [1, 1514764800000, null],
      [1, 1514851200000, null],
      [2, 1514782800000, 'a'],
      [1, -1, null],
      [1, 1514808000000, 'a'],
    ]);
    assert.deepEqual([...first.unknownTuple], [0, 0, 1, 2, 3, 4]);
    first.tuples.forEach((_, t) => columnar.bind(t, t === 4 ? 0 : t));
    const again = columnar.ingest(records, first.unknown);
    assert.equal(again.accepted, 6);
    assert.deepEqual([...again.runs], [0, 3, 1, 1, 2, 1, 3, 1]);
    assert.equal(columnar.rows(0), 3);
    // A bound tuple is kept: the same records land without a new bind.
    const third = columnar.ingest(records.slice(0, 1));
    assert.deepEqual([third.accepted, third.tuples.length, [...third.runs]], [1, 0, [0, 1]]);
    assert.ok(columnar.estimatedBytes(0) > 0);
    const rows = readRows(columnar.finish(0), ALL_TYPES);
    assert.deepEqual(rows.map((r) => [r[0], r[5], r[9]]), [
      [1, 1514764800000, null], [1, 1514851199999, null], [1, 1514808000000, 'a'], [1, 1514764800000, null],
    ]);
    assert.equal(columnar.rows(0), 0, 'a finished slot is empty');
    assert.throws(() => columnar.finish(0), /slot 0/);
    columnar.reset();
    assert.equal(columnar.ingest(records.slice(0, 1)).tuples.length, 1, 'reset forgets the bindings');
  });

  test('bad options are refused naming the option and the value', () => {
    const Columnar = native().Columnar;
    const fields = [{ name: 'a', type: 'int' as const, nullable: false }];
    assert.throws(() => new Columnar({ fields: [{ name: 'a', type: 'float' as 'int', nullable: false }], keySlots: [], compression: 'SNAPPY', createdBy: 'x' }), /float/);
    assert.throws(() => new Columnar({ fields, keySlots: [], compression: 'LZO' as 'SNAPPY', createdBy: 'x' }), /LZO/);
    assert.throws(() => new Columnar({ fields, keySlots: [{ field: 3, unit: 0 }], compression: 'SNAPPY', createdBy: 'x' }), /3/);
  });

  test('Kinesis response bodies: the scan agrees with the JS parser, and ingestKinesis writes what ingest writes', async () => {
    const schema = await loadSchema('TripEvent');
    const datas = [
      ...Array.from({ length: 300 }, (_, i) => Buffer.from(toJson(tripEvent(i)), 'utf8')),
      Buffer.from('not json'), Buffer.from(''), Buffer.from(toJson(tripEvent(7, { vendor_id: 'x' }))),
    ];
    const body = responseBody(datas);
    // As the body arrives from a socket: in chunks, cut anywhere (inside a record's base64 too).
    const chunks = [body.subarray(0, 1000), body.subarray(1000, 1001), body.subarray(1001, 70_001), body.subarray(70_001)];
    const scanned = native().scanGetRecords(chunks);
    const parsed = parseGetRecordsBody(body.toString('latin1'));
    assert.ok(scanned && parsed);
    assert.equal(scanned.count, parsed.Records?.length);
    assert.equal(scanned.lastSequenceNumber, parsed.Records?.at(-1)?.SequenceNumber);
    assert.equal(scanned.nextShardIterator, 'AAAA+/==');
    assert.equal(scanned.millisBehindLatest, 7);
    assert.equal(scanned.dataBytes, datas.reduce((sum, d) => sum + d.byteLength, 0));
    assert.deepEqual([scanned.aggregated, scanned.hasChildShards], [false, false]);
    const held = scanned.body;
    assert.ok(held, 'a body with records is held');
    assert.ok(native().heldBodyBytes(held).equals(body), 'the held body is the chunks joined');

    const options = {
      fields: schema.fields.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable === true })),
      keySlots: [{ field: 7, unit: 0 }],
      compression: 'SNAPPY' as const,
      createdBy: 'test',
    };
    const files: Buffer[][] = [];
    for (const run of [(c: NativeColumnar, indices?: Uint32Array) => c.ingest(datas, indices), (c: NativeColumnar, indices?: Uint32Array) => c.ingestKinesis(held, indices)]) {
      const columnar = new (native().Columnar)(options);
      const first = run(columnar);
      assert.deepEqual([...first.refused], [300, 301, 302]);
      first.tuples.forEach((_, t) => columnar.bind(t, t));
      assert.equal(run(columnar, first.unknown).accepted, 300);
      files.push(first.tuples.map((_, t) => columnar.finish(t)));
    }
    assert.deepEqual(files[0]?.map((f) => readRows(f, schema)), files[1]?.map((f) => readRows(f, schema)));
    native().releaseHeldBody(held);
    native().releaseHeldBody(held);
    assert.throws(() => new (native().Columnar)(options).ingestKinesis(held), /released/);
    assert.throws(() => native().heldBodyBytes(held), /released/);
    assert.throws(() => new (native().Columnar)(options).ingestKinesis({} as never), /external/i);

    // Released bodies are reused by later scans; a body still held is not touched by them.
    const other = responseBody(datas.slice(0, 5));
    const a = native().scanGetRecords([other])?.body;
    const b = native().scanGetRecords([body])?.body;
    assert.ok(a && b);
    native().releaseHeldBody(a);
    const c = native().scanGetRecords([responseBody(datas.slice(5, 9))])?.body;
    assert.ok(c);
    assert.ok(native().heldBodyBytes(b).equals(body));
    assert.equal(new (native().Columnar)(options).ingestKinesis(b).refused.length, 3);
    for (const h of [b, c]) native().releaseHeldBody(h);

    // Aggregated records, child shards and bodies that are not GetRecords responses are left to the JS parser.
    const [aggregated] = aggregate(datas.slice(0, 3).map((data, i) => ({ data, partitionKey: `k${i}` })));
    // Nothing is held for them, nor for a body without records.
    const withAggregate = native().scanGetRecords([responseBody([datas[0] as Buffer, aggregated!.data])]);
    assert.deepEqual([withAggregate?.aggregated, withAggregate?.body ?? undefined], [true, undefined]);
    const withChildren = native().scanGetRecords([responseBody(datas, { ChildShards: [{ ShardId: 's', ParentShards: ['p'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } }] })]);
    assert.deepEqual([withChildren?.hasChildShards, withChildren?.body ?? undefined], [true, undefined]);
    const empty = native().scanGetRecords([responseBody([])]);
    assert.deepEqual([empty?.count, empty?.body ?? undefined], [0, undefined]);
    for (const bad of ['', '[]', '{"Records":[{"Data":"ab\\/c","PartitionKey":"k","SequenceNumber":"1"}]}', '{"Records":[{"Data":"abc","PartitionKey":"k","SequenceNumber":"1"}]}']) {
      assert.equal(native().scanGetRecords([Buffer.from(bad)]), null, bad);
    }
    // Data that is not plain base64 (here an escaped '/' in place of a character: the length still
    // a multiple of 4) scans, but its record is refused: the JS parser and decoder judge it.
    const escaped = Buffer.from(responseBody([datas[0] as Buffer, Buffer.from(toJson(tripEvent(1, { padding: '??????' })))]).toString('latin1').replace(/"Data":"([^"]*?).\//, '"Data":"$1\\/'));
    assert.ok(escaped.includes('\\/'), 'the test body has an escaped slash in a Data');
    const columnar = new (native().Columnar)(options);
    const heldEscaped = native().scanGetRecords([escaped])?.body;
    assert.ok(heldEscaped);
    assert.equal(columnar.ingestKinesis(heldEscaped).refused.length, 1);
  });
});
