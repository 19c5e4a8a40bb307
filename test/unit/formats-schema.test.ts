import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaError, loadSchema, parseSchema } from '../../processor/formats/index.js';

const TRIP_FIELDS = [
  ['vendor_id', 'int'], ['pickup_datetime', 'timestamp-millis'], ['dropoff_datetime', 'timestamp-millis'],
  ['passenger_count', 'int'], ['trip_distance', 'double'], ['ratecode_id', 'int'], ['store_and_fwd_flag', 'string'],
  ['pickup_location_id', 'int'], ['dropoff_location_id', 'int'], ['payment_type', 'int'], ['fare_amount', 'double'],
  ['extra', 'double'], ['mta_tax', 'double'], ['tip_amount', 'double'], ['tolls_amount', 'double'],
  ['improvement_surcharge', 'double'], ['total_amount', 'double'], ['trip_id', 'long'], ['type', 'string'], ['padding', 'string'],
];

/** A minimal valid schema document, with overrides. */
function schemaDoc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Thing',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'kind', type: 'string' },
      { name: 'at', type: 'timestamp-millis' },
      { name: 'note', type: 'string', nullable: true },
    ],
    typeField: 'kind',
    idField: 'id',
    timeField: 'at',
    ...overrides,
  };
}

function problemsOf(raw: unknown): readonly string[] {
  try {
    parseSchema(raw, 'test.json');
  } catch (error) {
    assert.ok(error instanceof SchemaError, `expected a SchemaError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the schema to be refused');
}

describe('loadSchema', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'formats-schema-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the built-in TripEvent has the 20 fields in order, only padding nullable, and its role fields', async () => {
    // When
    const schema = await loadSchema('TripEvent');
    // Then
    assert.equal(schema.name, 'TripEvent');
    assert.deepEqual(schema.fields.map((f) => [f.name, f.type]), TRIP_FIELDS);
    assert.deepEqual(schema.fields.filter((f) => f.nullable === true).map((f) => f.name), ['padding']);
    assert.equal(schema.typeField, 'type');
    assert.equal(schema.idField, 'trip_id');
    assert.equal(schema.timeField, 'pickup_datetime');
  });

  test('loads a schema file by path', async () => {
    // Given
    const path = join(dir, 'thing.json');
    await writeFile(path, JSON.stringify(schemaDoc()));
    // When
    const schema = await loadSchema(path);
    // Then
    assert.equal(schema.name, 'Thing');
    assert.deepEqual(schema.fields[3], { name: 'note', type: 'string', nullable: true });
  });

  test('a path that is neither a built-in name nor a file names the value', async () => {
    await assert.rejects(loadSchema(join(dir, 'nope.json')), (error: unknown) => {
      assert.ok(error instanceof SchemaError);
      assert.match(error.message, /nope\.json/);
      assert.match(error.message, /TripEvent/);
      return true;
    });
  });

  test('a file that is not JSON is refused naming the file', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{ "name": "x", ');
    await assert.rejects(loadSchema(path), (error: unknown) => error instanceof SchemaError && /broken\.json.*not JSON/s.test(error.message));
  });
});

describe('parseSchema validation', () => {
  test('an unknown type names the field and the type', () => {
    const problems = problemsOf(schemaDoc({ fields: [{ name: 'id', type: 'long' }, { name: 'price', type: 'decimal' }] , typeField: undefined, timeField: undefined }));
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /field "price": unknown type "decimal"; expected one of int, long/);
  });

  test('a duplicate field names it and both positions', () => {
    const doc = schemaDoc();
    const problems = problemsOf({ ...doc, fields: [...(doc['fields'] as unknown[]), { name: 'kind', type: 'int' }] });
    assert.deepEqual(problems, ['field "kind" (fields[4]): duplicate of fields[1]']);
  });

  test('role fields naming a missing field are each reported', () => {
    const problems = problemsOf(schemaDoc({ typeField: 'event_type', idField: 'uuid', timeField: 'ts' }));
    assert.deepEqual(problems, [
      '"typeField": names field "event_type", which the schema does not have',
      '"idField": names field "uuid", which the schema does not have',
      '"timeField": names field "ts", which the schema does not have',
    ]);
  });

  test('role fields of the wrong type or nullable are refused', () => {
    const problems = problemsOf(schemaDoc({ timeField: 'kind', idField: 'note' }));
    assert.ok(problems.includes('"timeField": field "kind" has type "string"; expected timestamp-millis'), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('"idField": field "note" is nullable')), problems.join('\n'));
  });

  test('every problem is reported at once, each with the value received', () => {
    // Given: a document with many mistakes
    const raw = {
      name: '',
      colour: 'blue',
      fields: [
        { name: 'a', type: 'int', nullable: 'yes' },
        { type: 'string' },
        'b',
        { name: 'c', type: 'string', nulable: true },
      ],
      idField: 42,
    };
    // When
    const problems = problemsOf(raw);
    // Then
    assert.deepEqual(problems, [
      'unknown key "colour" (value "blue"); expected one of name, doc, $comment, fields, typeField, idField, timeField',
      '"name": expected a non-empty string, got ""',
      'field "a": "nullable": expected true or false, got "yes"',
      'fields[1]: "name": expected a non-empty string, got nothing (missing)',
      'fields[2]: expected an object with "name" and "type", got "b"',
      'field "c": unknown key "nulable" (value true); expected one of name, type, nullable, doc',
      '"idField": expected a field name, got 42',
    ]);
  });

  test('fields must be a non-empty array; the root must be an object', () => {
    assert.deepEqual(problemsOf(schemaDoc({ fields: [], typeField: undefined, idField: undefined, timeField: undefined })), [
      '"fields": expected a non-empty array of fields, got []',
    ]);
    assert.deepEqual(problemsOf([1, 2]), ['expected a JSON object, got [1,2]']);
  });

  test('the error message lists the problems under the source name', () => {
    assert.throws(() => parseSchema(schemaDoc({ name: 7, idField: 'nope' }), 'my-schema.json'), (error: unknown) => {
      assert.ok(error instanceof SchemaError);
      assert.match(error.message, /^invalid schema my-schema\.json \(2 problems\):\n {2}- "name": expected a non-empty string, got 7\n {2}- "idField": names field "nope"/);
      return true;
    });
  });
});
