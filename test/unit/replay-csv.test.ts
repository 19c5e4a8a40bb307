import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  convertTlcRow,
  DEFAULT_TLC_LAYOUT,
  fnv1a64,
  InvalidRowError,
  parseCsvLine,
  parseTlcTimestamp,
  tlcLayoutFromHeader,
  tripId,
  TLC_SAMPLE_HEADER,
} from '../../replay/index.js';

const SAMPLE = fileURLToPath(new URL('../../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));

async function sampleLines(): Promise<string[]> {
  return (await readFile(SAMPLE, 'utf8')).split('\n').map((l) => l.replace(/\r$/, ''));
}

/** A TLC row in the sample's layout; override any column by name. */
function tlcRow(overrides: Partial<Record<(typeof TLC_SAMPLE_HEADER)[number], string>> = {}): string {
  const base: Record<string, string> = {
    VendorID: '1',
    tpep_pickup_datetime: '1/1/2018, 2:21:05 AM',
    tpep_dropoff_datetime: '1/1/2018, 2:24:23 AM',
    passenger_count: '1',
    trip_distance: '0.5',
    RatecodeID: '1',
    store_and_fwd_flag: 'N',
    PULocationID: '41',
    DOLocationID: '24',
    payment_type: '2',
    fare_amount: '4.5',
    extra: '0.5',
    mta_tax: '0.5',
    tip_amount: '0',
    tolls_amount: '0',
    improvement_surcharge: '0.3',
    total_amount: '5.8',
    congestion_surcharge: '-',
    airport_fee: '-',
    ...overrides,
  };
  return TLC_SAMPLE_HEADER.map((c) => {
    const v = base[c] as string;
    return v.includes(',') ? `"${v}"` : v;
  }).join(',');
}

function parseEvent(json: string): Record<string, unknown> {
  return JSON.parse(json) as Record<string, unknown>;
}

describe('TLC CSV to TripEvent', () => {
  test('converts the first real row of the sample with every field in order', async () => {
    // Given the sample's header and first row
    const [header, first] = await sampleLines();
    const layout = tlcLayoutFromHeader(parseCsvLine(header as string));
    // When it is converted
    const { json, event } = convertTlcRow(first as string, 2, 'sample.csv', layout);
    // Then the fields are TripEvent's, in order, with UTC times (1/1/2018 2:21:05 AM EST = 07:21:05Z)
    const parsed = parseEvent(json);
    assert.deepEqual(Object.keys(parsed), [
      'vendor_id', 'pickup_datetime', 'dropoff_datetime', 'passenger_count', 'trip_distance', 'ratecode_id',
      'store_and_fwd_flag', 'pickup_location_id', 'dropoff_location_id', 'payment_type', 'fare_amount', 'extra',
      'mta_tax', 'tip_amount', 'tolls_amount', 'improvement_surcharge', 'total_amount', 'trip_id', 'type',
    ]);
    assert.equal(parsed.vendor_id, 1);
    assert.equal(parsed.pickup_datetime, '2018-01-01T07:21:05.000Z');
    assert.equal(parsed.dropoff_datetime, '2018-01-01T07:24:23.000Z');
    assert.equal(parsed.trip_distance, 0.5);
    assert.equal(parsed.store_and_fwd_flag, 'N');
    assert.equal(parsed.pickup_location_id, 41);
    assert.equal(parsed.total_amount, 5.8);
    assert.equal(parsed.type, 'trip');
    // and trip_id is written as a bare JSON integer with every digit
    assert.match(json, new RegExp(`"trip_id":${event.trip_id.toString()},"type":"trip"}$`));
  });

  test('converts the December 2017 rows, including a dropoff the next day', async () => {
    const lines = await sampleLines();
    const rows = lines.map((raw, i) => ({ raw, line: i + 1 })).filter((r) => r.raw.includes('12/31/2017'));
    assert.equal(rows.length, 4, 'the sample has four 2017 rows');
    const events = rows.map((r) => parseEvent(convertTlcRow(r.raw, r.line, 's').json));
    // 12/31/2017 11:59:12 PM EST is already 2018 in UTC
    assert.deepEqual(
      events.map((e) => e.pickup_datetime),
      ['2017-12-31T19:12:14.000Z', '2017-12-31T19:33:49.000Z', '2017-12-31T19:52:15.000Z', '2018-01-01T04:59:12.000Z'],
    );
    // 12/31/2017 2:52:15 PM -> 1/1/2018 2:13:05 PM (EST, UTC-5)
    const overnight = events.find((e) => e.pickup_datetime === '2017-12-31T19:52:15.000Z');
    assert.equal(overnight?.dropoff_datetime, '2018-01-01T19:13:05.000Z');
  });

  test('keeps negative refund amounts, passenger_count 0 and location ids 264/265', () => {
    const refund = parseEvent(convertTlcRow(tlcRow({ payment_type: '4', fare_amount: '-3', extra: '-0.5', total_amount: '-4.3' }), 2, 's').json);
    assert.equal(refund.payment_type, 4);
    assert.equal(refund.fare_amount, -3);
    assert.equal(refund.total_amount, -4.3);
    const odd = parseEvent(convertTlcRow(tlcRow({ passenger_count: '0', PULocationID: '264', DOLocationID: '265' }), 3, 's').json);
    assert.equal(odd.passenger_count, 0);
    assert.equal(odd.pickup_location_id, 264);
    assert.equal(odd.dropoff_location_id, 265);
  });

  test('the real sample has refunds, passenger 0 and 264/265, and all 1,000 rows convert', async () => {
    const [header, ...rows] = await sampleLines();
    const layout = tlcLayoutFromHeader(parseCsvLine(header as string));
    const events = rows.filter((r) => r !== '').map((r, i) => parseEvent(convertTlcRow(r, i + 2, 's', layout).json));
    assert.equal(events.length, 1000);
    assert.ok(events.some((e) => (e.total_amount as number) < 0));
    assert.ok(events.some((e) => e.passenger_count === 0));
    assert.ok(events.some((e) => e.pickup_location_id === 264 || e.dropoff_location_id === 264));
    assert.ok(events.some((e) => e.pickup_location_id === 265 || e.dropoff_location_id === 265));
  });

  test('an empty cell or "-" becomes null', () => {
    const event = parseEvent(convertTlcRow(tlcRow({ passenger_count: '', RatecodeID: '-' }), 2, 's').json);
    assert.equal(event.passenger_count, null);
    assert.equal(event.ratecode_id, null);
  });

  test('a bad number names the line, the column and the value', () => {
    assert.throws(
      () => convertTlcRow(tlcRow({ fare_amount: '4.5x' }), 17, 'in.csv'),
      (error: unknown) =>
        error instanceof InvalidRowError &&
        error.line === 17 &&
        error.column === 'fare_amount' &&
        error.value === '4.5x' &&
        /in\.csv line 17: column fare_amount value "4\.5x"/.test(error.message),
    );
  });

  test('a bad date and a wrong column count are invalid rows', () => {
    assert.throws(() => convertTlcRow(tlcRow({ tpep_dropoff_datetime: '2/30/2018, 1:00:00 AM' }), 5, 's'), /line 5: column tpep_dropoff_datetime value "2\/30\/2018, 1:00:00 AM"/);
    assert.throws(() => convertTlcRow(tlcRow({ tpep_pickup_datetime: '13:00:00' }), 6, 's'), InvalidRowError);
    assert.throws(() => convertTlcRow('1,2,3', 7, 's', DEFAULT_TLC_LAYOUT), /line 7.*expected 19 columns, got 3/);
  });

  test('a header without a needed column is refused by name', () => {
    assert.throws(() => tlcLayoutFromHeader(['VendorID', 'tpep_dropoff_datetime']), /tpep_pickup_datetime/);
    assert.equal(tlcLayoutFromHeader(['1', '2']), undefined);
  });
});

describe('New York local time to UTC', () => {
  test('standard and daylight time', () => {
    assert.equal(new Date(parseTlcTimestamp('1/1/2018, 12:00:00 AM') as number).toISOString(), '2018-01-01T05:00:00.000Z');
    assert.equal(new Date(parseTlcTimestamp('7/4/2018, 12:30:00 PM') as number).toISOString(), '2018-07-04T16:30:00.000Z');
    assert.equal(new Date(parseTlcTimestamp('2018-07-04 12:30:00') as number).toISOString(), '2018-07-04T16:30:00.000Z');
  });

  test('a wall time in the spring-forward gap moves forward by the gap (3/11/2018 2:30 AM = 3:30 EDT)', () => {
    assert.equal(new Date(parseTlcTimestamp('3/11/2018, 2:30:00 AM') as number).toISOString(), '2018-03-11T07:30:00.000Z');
    // the instants either side are ordinary
    assert.equal(new Date(parseTlcTimestamp('3/11/2018, 1:59:59 AM') as number).toISOString(), '2018-03-11T06:59:59.000Z');
    assert.equal(new Date(parseTlcTimestamp('3/11/2018, 3:00:00 AM') as number).toISOString(), '2018-03-11T07:00:00.000Z');
  });

  test('a wall time in the fall-back overlap is the earlier instant (11/4/2018 1:30 AM = EDT)', () => {
    assert.equal(new Date(parseTlcTimestamp('11/4/2018, 1:30:00 AM') as number).toISOString(), '2018-11-04T05:30:00.000Z');
    assert.equal(new Date(parseTlcTimestamp('11/4/2018, 2:00:00 AM') as number).toISOString(), '2018-11-04T07:00:00.000Z');
    assert.equal(new Date(parseTlcTimestamp('11/4/2018, 12:59:59 AM') as number).toISOString(), '2018-11-04T04:59:59.000Z');
  });

  test('not timestamps', () => {
    for (const text of ['', '1/1/2018', '13/1/2018, 1:00:00 AM', '1/1/2018, 13:00:00 PM', '1/1/2018, 0:10:00 AM', 'yesterday']) {
      assert.equal(parseTlcTimestamp(text), undefined, text);
    }
  });
});

describe('trip_id', () => {
  test('FNV-1a 64 matches the reference values', () => {
    const enc = new TextEncoder();
    assert.equal(fnv1a64(enc.encode('')).toString(16), 'cbf29ce484222325');
    assert.equal(fnv1a64(enc.encode('a')).toString(16), 'af63dc4c8601ec8c');
    assert.equal(fnv1a64(enc.encode('foobar')).toString(16), '85944171f73967e8');
  });

  test('is unique over the whole sample, stable across runs, 63-bit, and mostly above 2^53', async () => {
    // Given the sample's 1,000 rows
    const lines = await sampleLines();
    const rows = lines.slice(1).filter((r) => r !== '');
    // When converted twice
    const first = rows.map((r, i) => convertTlcRow(r, i + 2, 'a.csv').event.trip_id);
    const second = rows.map((r, i) => convertTlcRow(r, i + 2, 'moved/elsewhere.csv').event.trip_id);
    // Then the ids are the same (the path is not part of it), distinct, and in [0, 2^63)
    assert.deepEqual(second, first);
    assert.equal(new Set(first).size, 1000);
    assert.ok(first.every((id) => id >= 0n && id < 1n << 63n));
    assert.ok(first.filter((id) => id > 1n << 53n).length > 900);
  });

  test('identical rows on different lines get different ids', () => {
    const row = tlcRow();
    assert.notEqual(tripId(2, row), tripId(3, row));
  });
});

describe('CSV line splitting', () => {
  test('quoted fields with commas and doubled quotes', () => {
    assert.deepEqual(parseCsvLine('1,"a, b","say ""hi""",,x'), ['1', 'a, b', 'say "hi"', '', 'x']);
    assert.deepEqual(parseCsvLine(''), ['']);
  });
});
