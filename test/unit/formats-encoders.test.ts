/**
 * The file encoders, read back by two independent readers (pyarrow and DuckDB, through
 * scripts/read-parquet.py; `npm test` creates .cache/venv first, and these tests fail when it
 * is missing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { EncodeError, createFileFormat, loadSchema } from '../../processor/formats/index.js';
import type { DecodedEvent, EventSchema, FileFormatOptions, ParquetEncoderName } from '../../processor/formats/index.js';
import { readParquet } from '../support/parquet.js';
import type { Reading } from '../support/parquet.js';
import { decodedTripEvents, tripEvent } from './formats-factory.js';
import type { TripEventFields } from './formats-factory.js';

const PYARROW_TYPES: Readonly<Record<string, string>> = {
  vendor_id: 'int32', pickup_datetime: 'timestamp[ms, tz=UTC]', dropoff_datetime: 'timestamp[ms, tz=UTC]',
  trip_distance: 'double', store_and_fwd_flag: 'string', total_amount: 'double', trip_id: 'int64', padding: 'string',
};
const DUCKDB_TYPES: Readonly<Record<string, string>> = {
  vendor_id: 'INTEGER', pickup_datetime: 'TIMESTAMP WITH TIME ZONE', dropoff_datetime: 'TIMESTAMP WITH TIME ZONE',
  trip_distance: 'DOUBLE', store_and_fwd_flag: 'VARCHAR', total_amount: 'DOUBLE', trip_id: 'BIGINT', padding: 'VARCHAR',
};
const PADDINGS = [null, 'pad', 'héllo ✓ 😀', ''];

let schema: EventSchema;
let dir = '';

before(async () => {
  schema = await loadSchema('TripEvent');
  dir = await mkdtemp(join(tmpdir(), 'formats-encoders-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `count` sample events, trip_id 1..count, padding cycling through null, ASCII, non-ASCII, empty. */
function sampleEvents(count: number): TripEventFields[] {
  return Array.from({ length: count }, (_v, i) => tripEvent(i, { padding: PADDINGS[i % PADDINGS.length] }));
}

/** Encodes events into a file in the temp dir; returns its path. */
async function writeFileWith(name: string, options: FileFormatOptions, events: readonly DecodedEvent[]): Promise<string> {
  const format = await createFileFormat(schema, options);
  const encoder = format.createEncoder();
  for (const event of events) encoder.append(event);
  assert.equal(encoder.count, events.length);
  const bytes = await encoder.finish();
  const path = join(dir, `${name}${format.extension}`);
  await writeFile(path, bytes);
  return path;
}

function assertReading(reader: string, reading: Reading, input: readonly TripEventFields[]): void {
  assert.equal(reading.rows, input.length, `${reader}: rows`);
  const types = reader === 'pyarrow' ? PYARROW_TYPES : DUCKDB_TYPES;
  for (const [column, type] of Object.entries(types)) assert.equal(reading.schema[column], type, `${reader}: type of ${column}`);
  assert.equal(Object.keys(reading.schema).length, 20, `${reader}: 20 columns`);
  const total = input.reduce((sum, e) => sum + (e['total_amount'] as number), 0);
  assert.ok(Math.abs((reading.columns['total_amount']?.sum as number) - total) < 1e-6, `${reader}: sum of total_amount ${String(reading.columns['total_amount']?.sum)} vs ${total}`);
  assert.deepEqual(reading.values?.['trip_id'], input.map((e) => String(e['trip_id'])), `${reader}: trip_id values`);
  assert.deepEqual(reading.values?.['pickup_datetime'], input.map((e) => e['pickup_datetime']), `${reader}: pickup_datetime values`);
  assert.deepEqual(reading.values?.['padding'], input.map((e) => e['padding'] ?? null), `${reader}: padding values`);
  assert.equal(reading.columns['padding']?.nulls, input.filter((e) => e['padding'] === null || e['padding'] === undefined).length, `${reader}: padding nulls`);
  assert.equal(reading.columns['total_amount']?.nulls, 0, `${reader}: total_amount nulls`);
  const locations = [...new Set(input.map((e) => e['pickup_location_id'] as number))].sort((a, b) => a - b);
  assert.deepEqual(reading.distinct?.['pickup_location_id'], locations, `${reader}: distinct pickup_location_id`);
}

const READ_OPTIONS = { values: ['trip_id', 'pickup_datetime', 'padding'], distinct: ['pickup_location_id'] };

describe('parquet-wasm encoder (the default)', () => {
  test('3,000 sample events read back identically in pyarrow and DuckDB', async () => {
    // Given: more rows than the initial column capacity, nulls and non-ASCII strings
    const input = sampleEvents(3000);
    // When
    const path = await writeFileWith('wasm-sample', {}, await decodedTripEvents(input));
    const report = await readParquet([path], READ_OPTIONS);
    // Then
    const file = report.files[0];
    assert.ok(file !== undefined);
    assertReading('pyarrow', file.pyarrow, input);
    assertReading('duckdb', file.duckdb, input);
  });

  test('the unique-id column (trip_id) is written without a dictionary, the other columns with one', async () => {
    const path = await writeFileWith('wasm-dictionary', {}, await decodedTripEvents(sampleEvents(3000)));
    const dictionary = (await readParquet([path])).files[0]?.pyarrow.dictionary;
    assert.equal(dictionary?.['trip_id'], false);
    assert.equal(dictionary?.['vendor_id'], true);
    assert.equal(dictionary?.['pickup_datetime'], true);
  });

  test('a null in a non-nullable column throws naming the field; the rows around it are written whole', async () => {
    // Given events whose every other one misses a non-nullable column (the decoder never lets that through)
    const format = await createFileFormat(schema);
    const encoder = format.createEncoder();
    const input = sampleEvents(9);
    const decoded = await decodedTripEvents(input);
    // When
    for (const [i, event] of decoded.entries()) {
      if (i % 2 === 1) {
        const values = [...event.values];
        values[16] = null; // total_amount
        assert.throws(() => encoder.append({ values }), (error: unknown) => {
          assert.ok(error instanceof EncodeError);
          assert.equal(error.field, 'total_amount');
          assert.equal(error.message, 'field "total_amount": null in a non-nullable column');
          return true;
        });
      }
      encoder.append(event);
    }
    // Then every valid event reads back as it was, nulls of the nullable padding included
    assert.equal(encoder.count, input.length);
    const path = join(dir, 'wasm-after-refusal.parquet');
    await writeFile(path, await encoder.finish());
    const report = await readParquet([path], READ_OPTIONS);
    assertReading('pyarrow', report.files[0]!.pyarrow, input);
    assertReading('duckdb', report.files[0]!.duckdb, input);
  });

  test('longs over the full 64 bits and timestamps before 1970 are exact', async () => {
    // Given
    const input = [
      tripEvent(0, { trip_id: 9223372036854775807n, pickup_datetime: '1969-12-31T23:59:59.999Z' }),
      tripEvent(1, { trip_id: -9223372036854775808n, pickup_datetime: '1900-01-01T00:00:00.000Z' }),
      tripEvent(2, { trip_id: 9007199254740993n, pickup_datetime: '0001-01-01T00:00:00.000Z' }),
      tripEvent(3, { trip_id: -9007199254740993n, pickup_datetime: '9999-12-31T23:59:59.999Z' }),
      tripEvent(4, { trip_id: 0n, pickup_datetime: '1969-07-20T20:17:40.000Z' }),
    ];
    // When
    const path = await writeFileWith('wasm-extremes', { compression: 'ZSTD' }, await decodedTripEvents(input));
    const report = await readParquet([path], READ_OPTIONS);
    // Then
    const file = report.files[0];
    assert.ok(file !== undefined);
    assertReading('pyarrow', file.pyarrow, input);
    assertReading('duckdb', file.duckdb, input);
    assert.equal(file.duckdb.columns['trip_id']?.max, '9223372036854775807');
    assert.equal(file.pyarrow.columns['pickup_datetime']?.min, '0001-01-01T00:00:00.000Z');
  });

  test('every compression codec is readable; an empty file too', async () => {
    const input = sampleEvents(20);
    const events = await decodedTripEvents(input);
    const paths: string[] = [];
    for (const compression of ['SNAPPY', 'GZIP', 'ZSTD', 'UNCOMPRESSED'] as const) {
      paths.push(await writeFileWith(`codecs-${compression}`, { compression }, events));
    }
    const empty = await writeFileWith('wasm-empty', {}, []);
    const report = await readParquet([...paths, empty], READ_OPTIONS);
    assert.equal(report.files.length, 5);
    for (const file of report.files) {
      const expected = file.path === empty ? [] : input;
      assert.equal(file.pyarrow.rows, expected.length, file.path);
      assert.equal(file.duckdb.rows, expected.length, file.path);
      if (expected.length > 0) assertReading('duckdb', file.duckdb, expected);
    }
  });
});

describe('parquetjs-lite encoder', () => {
  test('sample events, with timestamps before 1970, read back in pyarrow and DuckDB', async () => {
    // Given
    const input = sampleEvents(300).map((e, i) => (i % 7 === 0 ? { ...e, pickup_datetime: '1969-07-20T20:17:40.123Z' } : e));
    input.push(tripEvent(5, { trip_id: 9007199254740991n, pickup_datetime: '1900-01-01T00:00:00.000Z' }));
    // When
    const path = await writeFileWith('lite-sample', { parquetEncoder: 'parquetjs-lite' }, await decodedTripEvents(input));
    const report = await readParquet([path], READ_OPTIONS);
    // Then
    const file = report.files[0];
    assert.ok(file !== undefined);
    assertReading('pyarrow', file.pyarrow, input);
    assertReading('duckdb', file.duckdb, input);
  });

  test('a long beyond 2^53 fails loudly naming the field and the value, and is not written', async () => {
    // Given
    const format = await createFileFormat(schema, { parquetEncoder: 'parquetjs-lite', compression: 'GZIP' });
    const encoder = format.createEncoder();
    const [ok, tooBig, tooSmall] = await decodedTripEvents([
      tripEvent(0),
      tripEvent(1, { trip_id: 9007199254740993n }),
      tripEvent(2, { trip_id: -9223372036854775808n }),
    ]);
    // When
    encoder.append(ok as DecodedEvent);
    // Then
    for (const [event, digits] of [[tooBig, '9007199254740993'], [tooSmall, '-9223372036854775808']] as const) {
      assert.throws(() => encoder.append(event as DecodedEvent), (error: unknown) => {
        assert.ok(error instanceof EncodeError);
        assert.equal(error.field, 'trip_id');
        assert.match(error.message, new RegExp(`field "trip_id": .*${digits}`));
        return true;
      });
    }
    assert.equal(encoder.count, 1);
    const path = join(dir, 'lite-after-refusal.parquet');
    await writeFile(path, await encoder.finish());
    const report = await readParquet([path], { values: ['trip_id'] });
    assert.deepEqual(report.files[0]?.duckdb.values?.['trip_id'], ['1']);
    assert.deepEqual(report.files[0]?.pyarrow.values?.['trip_id'], ['1']);
  });
});

describe('JSON-lines encoder', () => {
  test('one object per line; exact longs, ISO timestamps, nulls', async () => {
    // Given
    const input = [
      tripEvent(0, { trip_id: 9223372036854775807n, pickup_datetime: '2018-01-01T02:21:05-05:00' }),
      tripEvent(1, { padding: 'héllo "quoted"\n', pickup_datetime: -1 }),
    ];
    const format = await createFileFormat(schema, { format: 'json' });
    const encoder = format.createEncoder();
    // When
    for (const event of await decodedTripEvents(input)) encoder.append(event);
    const estimate = encoder.estimatedBytes;
    const text = new TextDecoder().decode(await encoder.finish());
    // Then
    assert.equal(format.extension, '.jsonl');
    assert.equal(format.contentType, 'application/x-ndjson');
    const lines = text.split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    assert.ok(Math.abs(estimate - text.length) <= 2, `estimate ${estimate} vs ${text.length} characters`);
    assert.match(lines[0] as string, /"trip_id":9223372036854775807,"type":"trip","padding":null\}$/);
    assert.match(lines[0] as string, /^\{"vendor_id":1,"pickup_datetime":"2018-01-01T07:21:05\.000Z","dropoff_datetime":"2018-01-01T07:24:23\.000Z",/);
    const second = JSON.parse(lines[1] as string) as Record<string, unknown>;
    assert.equal(second['pickup_datetime'], '1969-12-31T23:59:59.999Z');
    assert.equal(second['padding'], 'héllo "quoted"\n');
    assert.equal(second['trip_id'], 2);
    assert.deepEqual(Object.keys(second), schema.fields.map((f) => f.name));
  });
});

describe('createFileFormat', () => {
  test('defaults to Parquet written by parquet-wasm', async () => {
    const format = await createFileFormat(schema);
    assert.equal(format.name, 'parquet');
    assert.equal(format.extension, '.parquet');
    assert.equal(format.contentType, 'application/vnd.apache.parquet');
    const bytes = await format.createEncoder().finish();
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'PAR1');
  });

  test('invalid options are all reported with their values', async () => {
    await assert.rejects(
      createFileFormat(schema, { format: 'avro' as 'json', parquetEncoder: 'arrow-js' as ParquetEncoderName, compression: 'LZ4' as 'GZIP' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems, [
          'format: expected one of parquet, json, got "avro"',
          'parquetEncoder: expected one of parquet-wasm, parquetjs-lite, got "arrow-js"',
          'compression: expected one of SNAPPY, GZIP, ZSTD, UNCOMPRESSED, got "LZ4"',
        ]);
        return true;
      },
    );
    await assert.rejects(createFileFormat(schema, { parquetEncoder: 'parquetjs-lite', compression: 'ZSTD' }), /parquetjs-lite writes SNAPPY, GZIP, UNCOMPRESSED only, got "ZSTD"/);
  });

  for (const encoder of ['parquet-wasm', 'parquetjs-lite'] as const) {
    test(`${encoder}: estimatedBytes grows with the events appended`, async () => {
      const format = await createFileFormat(schema, { parquetEncoder: encoder });
      const file = format.createEncoder();
      const events = await decodedTripEvents(sampleEvents(100));
      assert.equal(file.estimatedBytes, 0);
      events.slice(0, 50).forEach((e) => file.append(e));
      const half = file.estimatedBytes;
      events.slice(50).forEach((e) => file.append(e));
      assert.ok(half > 50 * 100, `estimate after 50 rows: ${half}`);
      assert.ok(file.estimatedBytes > half * 1.8, `estimate after 100 rows: ${file.estimatedBytes}`);
    });
  }
});
