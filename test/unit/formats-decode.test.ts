import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecoder, loadSchema, parseIsoTimestamp, parseSchema } from '../../processor/formats/index.js';
import type { DecodeResult, Decoder, EventSchema } from '../../processor/formats/index.js';
import { toJson, toRecord, tripEvent } from './formats-factory.js';

let schema: EventSchema;
let decode: Decoder;
let index: (name: string) => number;

before(async () => {
  schema = await loadSchema('TripEvent');
  decode = createDecoder(schema);
  index = (name) => schema.fields.findIndex((f) => f.name === name);
});

function accepted(result: DecodeResult): readonly unknown[] {
  if (!result.ok) assert.fail(`expected the event to be accepted, got: ${result.reason}`);
  return result.event.values;
}

function reasonOf(result: DecodeResult): string {
  if (result.ok) assert.fail(`expected a rejection, got ${JSON.stringify(result.event.values, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  return result.reason;
}

describe('decoding a valid TripEvent', () => {
  test('returns typed values in schema field order', () => {
    // Given
    const record = toRecord(tripEvent(0, { trip_id: 42, padding: 'pad' }));
    // When
    const values = accepted(decode(record));
    // Then
    assert.deepEqual(values, [
      1, Date.UTC(2018, 0, 1, 7, 21, 5), Date.UTC(2018, 0, 1, 7, 24, 23), 1, 0.5, 1, 'N', 41, 24, 2,
      4.5, 0.5, 0.5, 0, 0, 0.3, 5.8, 42n, 'trip', 'pad',
    ]);
  });

  test('a missing or null nullable field decodes as null', () => {
    const missing = accepted(decode(toRecord(tripEvent(1))));
    const explicitNull = accepted(decode(toRecord(tripEvent(1, { padding: null }))));
    assert.equal(missing[index('padding')], null);
    assert.equal(explicitNull[index('padding')], null);
  });

  test('unknown extra fields are ignored', () => {
    const values = accepted(decode(toRecord(tripEvent(2, { congestion_surcharge: 2.5, nested: { trip_id: 'x' } }))));
    assert.equal(values.length, 20);
    assert.equal(values[index('trip_id')], 3n);
  });

  test('a refund keeps its negative amounts', () => {
    const values = accepted(decode(toRecord(tripEvent(2))));
    assert.equal(values[index('total_amount')], -4.3);
    assert.equal(values[index('payment_type')], 4);
  });
});

describe('long precision', () => {
  for (const digits of ['9007199254740993', '9223372036854775807', '-9223372036854775808', '-9007199254740993', '18014398509481985']) {
    test(`trip_id ${digits} as a JSON number is exact`, () => {
      const values = accepted(decode(toRecord(tripEvent(0, { trip_id: BigInt(digits) }))));
      assert.equal(values[index('trip_id')], BigInt(digits));
    });
    test(`trip_id "${digits}" as a string is exact`, () => {
      const values = accepted(decode(toRecord(tripEvent(0, { trip_id: digits }))));
      assert.equal(values[index('trip_id')], BigInt(digits));
    });
  }

  test('an integer in exponent form is exact (9.2e18)', () => {
    const text = toJson(tripEvent(0)).replace('"trip_id":1', '"trip_id":9.2e18');
    assert.equal(accepted(decode(toRecord(text)))[index('trip_id')], 9200000000000000000n);
  });

  test('a string value containing "trip_id": and escapes does not fool the raw scanner', () => {
    // Given: decoy keys inside strings (with escaped quotes and backslashes) and nested objects before the real key
    const text =
      '{"type":"trip \\"trip_id\\":1, \\\\","padding":"\\"trip_id\\": 5, \\"trip_id\\":6",' +
      '"nested":{"trip_id":7,"s":"}"},"list":[{"trip_id":8},"]"],' +
      toJson(tripEvent(0, { trip_id: 9223372036854775807n })).slice(1).replace(',"type":"trip"', '');
    // When
    const values = accepted(decode(toRecord(text)));
    // Then
    assert.equal(values[index('trip_id')], 9223372036854775807n);
    assert.equal(values[index('type')], 'trip "trip_id":1, \\');
    assert.equal(values[index('padding')], '"trip_id": 5, "trip_id":6');
  });

  test('a key written with escapes matches, and the last duplicate wins, as with JSON.parse', () => {
    const fields = tripEvent(0);
    delete fields['trip_id'];
    const base = toJson(fields);
    const text = `{"trip_id":1,"trip\\u005fid":9223372036854775806,${base.slice(1)}`;
    assert.equal(accepted(decode(toRecord(text)))[index('trip_id')], 9223372036854775806n);
    const twice = `{"trip_id":9007199254740993,${base.slice(1, -1)},"trip_id":9007199254740995}`;
    assert.equal(accepted(decode(toRecord(twice)))[index('trip_id')], 9007199254740995n);
  });

  test('whitespace around keys and values is fine', () => {
    const fields = tripEvent(0);
    delete fields['trip_id'];
    const text = ` \n{ "padding" : "a" ,\r\n\t"trip_id"\n :\t9223372036854775807 \n, ${toJson(fields).slice(1, -1)} \n} `;
    assert.equal(accepted(decode(toRecord(text)))[index('trip_id')], 9223372036854775807n);
  });

  test('beyond 64 bits is refused naming the field and the exact digits', () => {
    const number = decode(toRecord(tripEvent(0, { trip_id: 9223372036854775808n })));
    assert.equal(reasonOf(number), 'field "trip_id": expected long (an integer within 64 bits), got 9223372036854775808');
    const string = decode(toRecord(tripEvent(0, { trip_id: '-9223372036854775809' })));
    assert.equal(reasonOf(string), 'field "trip_id": expected long (an integer within 64 bits), got "-9223372036854775809"');
  });
});

describe('timestamps', () => {
  const cases: [string, number][] = [
    ['2018-01-01T07:21:05.000Z', Date.UTC(2018, 0, 1, 7, 21, 5)],
    ['2018-01-01T02:21:05-05:00', Date.UTC(2018, 0, 1, 7, 21, 5)],
    ['2018-01-01T12:51:05.5+05:30', Date.UTC(2018, 0, 1, 7, 21, 5, 500)],
    ['2018-01-01T07:21:05.123456789Z', Date.UTC(2018, 0, 1, 7, 21, 5, 123)],
    ['2018-01-01T07:21Z', Date.UTC(2018, 0, 1, 7, 21)],
    ['2018-01-01 07:21:05z', Date.UTC(2018, 0, 1, 7, 21, 5)],
    ['2018-01-01T07:21:05+0000', Date.UTC(2018, 0, 1, 7, 21, 5)],
    ['1969-12-31T23:59:59.999Z', -1],
    ['1969-07-20T20:17:40Z', Date.UTC(1969, 6, 20, 20, 17, 40)],
    ['1900-03-01T00:00:00Z', Date.UTC(1900, 2, 1)],
    ['0001-01-01T00:00:00Z', -62135596800000],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
  ];
  for (const [text, expected] of cases) {
    test(`ISO ${text} decodes to ${expected}`, () => {
      const values = accepted(decode(toRecord(tripEvent(0, { pickup_datetime: text }))));
      assert.equal(values[index('pickup_datetime')], expected);
    });
  }

  test('epoch milliseconds, negative too', () => {
    const values = accepted(decode(toRecord(tripEvent(0, { pickup_datetime: -14182940000, dropoff_datetime: 1514791265000 }))));
    assert.equal(values[index('pickup_datetime')], -14182940000);
    assert.equal(values[index('dropoff_datetime')], 1514791265000);
  });

  const bad = [
    '2018-01-01T07:21:05', // no zone
    '2018-01-01', // no time
    '2018-02-29T00:00:00Z', // not a leap year
    '1900-02-29T00:00:00Z',
    '2018-13-01T00:00:00Z',
    '2018-01-01T24:00:00Z',
    '2018-01-01T07:60:00Z',
    '2018-01-01T07:21:05.Z',
    '2018-01-01T07:21:05Zjunk',
    '2018-01-01T07:21:05+5:00',
    '1/1/2018, 2:21:05 AM',
    '',
  ];
  for (const text of bad) {
    test(`${JSON.stringify(text)} is refused naming the field and the value`, () => {
      const reason = reasonOf(decode(toRecord(tripEvent(0, { pickup_datetime: text }))));
      assert.equal(reason, `field "pickup_datetime": expected timestamp-millis (ISO-8601 with a zone, e.g. 2018-01-01T07:21:05.000Z), got ${JSON.stringify(text)}`);
    });
  }

  test('parseIsoTimestamp agrees with Date.parse on a spread of dates', () => {
    for (let ms = Date.UTC(1600, 0, 1); ms < Date.UTC(2400, 0, 1); ms += 86_400_000 * 97 + 3_723_456) {
      const iso = new Date(ms).toISOString();
      assert.equal(parseIsoTimestamp(iso), ms, iso);
    }
  });
});

describe('bad input is rejected with a reason naming the field and the value', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['double as a string', { fare_amount: 'abc' }, 'field "fare_amount": expected double, got "abc"'],
    ['int with a fraction', { passenger_count: 1.5 }, 'field "passenger_count": expected int (an integer within 32 bits), got 1.5'],
    ['int beyond 32 bits', { pickup_location_id: 2147483648 }, 'field "pickup_location_id": expected int (an integer within 32 bits), got 2147483648'],
    ['int as a string', { vendor_id: '1' }, 'field "vendor_id": expected int, got "1"'],
    ['long with a fraction', { trip_id: 1.5 }, 'field "trip_id": expected long (an integer within 64 bits), got 1.5'],
    ['long as a non-numeric string', { trip_id: '12a' }, 'field "trip_id": expected long (an integer within 64 bits), got "12a"'],
    ['long as a boolean', { trip_id: true }, 'field "trip_id": expected long, got true'],
    ['string as a number', { store_and_fwd_flag: 0 }, 'field "store_and_fwd_flag": expected string, got 0'],
    ['timestamp as an object', { pickup_datetime: { at: 1 } }, 'field "pickup_datetime": expected timestamp-millis, got {"at":1}'],
    ['timestamp as a fraction of ms', { pickup_datetime: 1.5 }, 'field "pickup_datetime": expected timestamp-millis (integer epoch milliseconds), got 1.5'],
    ['null in a non-nullable field', { total_amount: null }, 'field "total_amount": expected double, got null'],
    ['nullable field of the wrong type', { padding: 7 }, 'field "padding": expected string, got 7'],
  ];
  for (const [name, override, expected] of cases) {
    test(name, () => {
      assert.equal(reasonOf(decode(toRecord(tripEvent(0, override)))), expected);
    });
  }

  test('a missing non-nullable field', () => {
    const fields = tripEvent(0);
    delete fields['dropoff_datetime'];
    assert.equal(reasonOf(decode(toRecord(fields))), 'field "dropoff_datetime": missing (expected timestamp-millis)');
  });

  test('a non-finite double (1e400) shows as Infinity', () => {
    const text = toJson(tripEvent(0)).replace('"tip_amount":0', '"tip_amount":1e400');
    assert.equal(reasonOf(decode(toRecord(text))), 'field "tip_amount": expected double, got Infinity');
  });

  test('a long value is truncated to about 100 characters in the reason', () => {
    const reason = reasonOf(decode(toRecord(tripEvent(0, { fare_amount: 'x'.repeat(500) }))));
    assert.ok(reason.length < 150, reason);
    assert.match(reason, /^field "fare_amount": expected double, got "x{99}…$/);
  });

  test('not JSON', () => {
    const reason = reasonOf(decode(toRecord('{"vendor_id": 1,')));
    assert.match(reason, /^not JSON \(.+\): got "\{\\"vendor_id\\": 1,"$/);
  });

  test('invalid UTF-8', () => {
    assert.equal(reasonOf(decode(new Uint8Array([0x7b, 0xff, 0x7d]))), 'not JSON: the record is not valid UTF-8');
  });

  test('JSON that is not an object', () => {
    assert.equal(reasonOf(decode(toRecord('[1,2]'))), 'expected a JSON object, got [1,2]');
    assert.equal(reasonOf(decode(toRecord('"trip"'))), 'expected a JSON object, got "trip"');
    assert.equal(reasonOf(decode(toRecord('null'))), 'expected a JSON object, got null');
  });
});

describe('other schemas', () => {
  test('booleans, nullable ints and longs, and field names that need quoting', () => {
    // Given
    const custom = parseSchema({
      name: 'Custom',
      fields: [
        { name: 'it\'s "odd"', type: 'boolean' },
        { name: 'n', type: 'int', nullable: true },
        { name: 'big', type: 'long', nullable: true },
      ],
    }, 'test');
    const decodeCustom = createDecoder(custom);
    // When / Then
    assert.deepEqual(accepted(decodeCustom(toRecord('{"it\'s \\"odd\\"":true,"big":9223372036854775807}'))), [true, null, 9223372036854775807n]);
    assert.equal(reasonOf(decodeCustom(toRecord('{"it\'s \\"odd\\"":"yes"}'))), 'field "it\'s "odd"": expected boolean, got "yes"');
  });
});
