/**
 * scripts/compare-parquet.py, the row-for-row comparison of the Flink and pipeline benches:
 * partitioned outputs written by our Parquet encoder, split into files differently on each side,
 * compare equal; one changed value, one row in another partition directory, or one row written
 * twice makes them differ, and the report names the row and the column. And
 * scripts/expected-output.py, the pipeline bench's oracle (pyarrow only): from the events' JSON
 * text it computes what our encoder writes for them, partitions included, and a changed event
 * makes the two differ. Needs .cache/venv (`npm test` creates it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileFormat, loadSchema } from '../../processor/formats/index.js';
import type { EventSchema } from '../../processor/formats/index.js';
import { compareOutputs, writeExpectedOutput } from '../../bench/read-back.js';
import { decodedTripEvents, toJson, tripEvent } from './formats-factory.js';
import type { TripEventFields } from './formats-factory.js';

let schema: EventSchema;
let root = '';

before(async () => {
  schema = await loadSchema('TripEvent');
  root = await mkdtemp(join(tmpdir(), 'compare-parquet-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The partition directory of our default template for an event. */
function partitionOf(event: TripEventFields): string {
  const time = new Date(event['pickup_datetime'] as string);
  const location = String(event['pickup_location_id']).padStart(3, '0');
  return `pickup_location=${location}/year=${time.getUTCFullYear()}/month=${String(time.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * Writes `events` under `dir` as partitioned Parquet, `perFile` events to a file (in the order
 * given), each file in the directory `place(event)` of its first event.
 */
async function writeOutput(dir: string, events: readonly TripEventFields[], perFile: number, place: (event: TripEventFields) => string = partitionOf): Promise<string> {
  const format = await createFileFormat(schema, {});
  const groups = new Map<string, TripEventFields[]>();
  for (const event of events) groups.set(place(event), [...(groups.get(place(event)) ?? []), event]);
  let n = 0;
  for (const [partition, list] of groups) {
    for (let i = 0; i < list.length; i += perFile) {
      const encoder = format.createEncoder();
      for (const event of await decodedTripEvents(list.slice(i, i + perFile))) encoder.append(event);
      await mkdir(join(dir, partition), { recursive: true });
      await writeFile(join(dir, partition, `part-${n++}.parquet`), await encoder.finish());
    }
  }
  return dir;
}

const EVENTS = Array.from({ length: 60 }, (_v, i) => tripEvent(i, { padding: i % 3 === 0 ? null : `p${i}` }));

describe('compare-parquet.py', () => {
  test('the same rows, split into files differently and in another order, compare equal', async () => {
    // Given
    const left = await writeOutput(join(root, 'same-left'), EVENTS, 100);
    const right = await writeOutput(join(root, 'same-right'), [...EVENTS].reverse(), 4);
    // When
    const c = await compareOutputs(left, right);
    // Then
    assert.equal(c.equal, true, JSON.stringify(c));
    assert.equal(c.left.rows, 60);
    assert.equal(c.right.rows, 60);
    assert.ok(c.right.files > c.left.files);
    assert.equal(c.mismatches, 0);
    assert.deepEqual(c.typeDifferences, {});
    assert.equal(c.left.schema['trip_id'], 'int64');
  });

  test('one changed value differs, naming the row and the column', async () => {
    const left = await writeOutput(join(root, 'value-left'), EVENTS, 100);
    const changed = EVENTS.map((e) => (e['trip_id'] === 17 ? { ...e, total_amount: (e['total_amount'] as number) + 0.01 } : e));
    const right = await writeOutput(join(root, 'value-right'), changed, 100);
    const c = await compareOutputs(left, right);
    assert.equal(c.equal, false);
    assert.equal(c.mismatches, 1);
    assert.deepEqual(c.firstMismatches, [{ key: '17', column: 'total_amount', left: EVENTS[16]!['total_amount'], right: (EVENTS[16]!['total_amount'] as number) + 0.01 }]);
  });

  test('a row in another partition directory differs', async () => {
    const left = await writeOutput(join(root, 'partition-left'), EVENTS, 1);
    const right = await writeOutput(join(root, 'partition-right'), EVENTS, 1, (e) => (e['trip_id'] === 5 ? 'pickup_location=000/year=2018/month=01' : partitionOf(e)));
    const c = await compareOutputs(left, right);
    assert.equal(c.equal, false);
    assert.equal(c.mismatches, 1);
    assert.equal((c.firstMismatches[0] as { column: string; key: string }).column, '_partition');
    assert.equal((c.firstMismatches[0] as { column: string; key: string }).key, '5');
  });

  test('a row written twice differs (the same keys, one more row)', async () => {
    const left = await writeOutput(join(root, 'twice-left'), EVENTS, 100);
    const right = await writeOutput(join(root, 'twice-right'), [...EVENTS, EVENTS[59]!], 100);
    const c = await compareOutputs(left, right);
    assert.equal(c.equal, false);
    assert.equal(c.right.rows, 61);
    assert.equal(c.right.distinctKeys, 60);
  });
});

describe('expected-output.py (the pipeline bench oracle)', () => {
  test('the oracle of the events JSON text equals what our encoder writes, partition directories included', async () => {
    const ours = await writeOutput(join(root, 'oracle-ours'), EVENTS, 7);
    const oracle = await writeExpectedOutput(EVENTS.map(toJson), 'default', join(root, 'oracle-expected'));
    const c = await compareOutputs(join(root, 'oracle-expected'), ours);
    assert.equal(oracle.rows, 60);
    assert.equal(c.equal, true, JSON.stringify(c));
    assert.deepEqual(c.typeDifferences, {});
  });

  test('one changed event, or one missing from the output, makes the oracle and the output differ', async () => {
    const ours = await writeOutput(join(root, 'oracle-changed-ours'), EVENTS, 100);
    const texts = EVENTS.map((e) => toJson(e['trip_id'] === 9 ? { ...e, fare_amount: 1234.5 } : e));
    await writeExpectedOutput(texts, 'default', join(root, 'oracle-changed-expected'));
    const changed = await compareOutputs(join(root, 'oracle-changed-expected'), ours);
    assert.equal(changed.equal, false);
    assert.deepEqual(changed.firstMismatches, [{ key: '9', column: 'fare_amount', left: 1234.5, right: EVENTS[8]!['fare_amount'] }]);
    const missing = await writeOutput(join(root, 'oracle-missing-ours'), EVENTS.slice(1), 100);
    await writeExpectedOutput(EVENTS.map(toJson), 'default', join(root, 'oracle-missing-expected'));
    const c = await compareOutputs(join(root, 'oracle-missing-expected'), missing);
    assert.equal(c.equal, false);
    assert.equal(c.left.rows, 60);
    assert.equal(c.right.rows, 59);
  });

  test('a literal template puts every row in that one directory; another template is refused', async () => {
    const ours = await writeOutput(join(root, 'oracle-all-ours'), EVENTS, 100, () => 'all');
    await writeExpectedOutput(EVENTS.map(toJson), 'all/', join(root, 'oracle-all-expected'));
    assert.equal((await compareOutputs(join(root, 'oracle-all-expected'), ours)).equal, true);
    await assert.rejects(writeExpectedOutput(EVENTS.map(toJson), 'x={vendor_id}/', join(root, 'oracle-refused')), /is not supported/);
  });
});
