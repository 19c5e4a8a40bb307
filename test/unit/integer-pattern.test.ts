/** integerRangePattern: the AllowedPattern of integer parameters matches exactly the integers in range. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { integerRangePattern } from '../../lib/integer-pattern.js';

describe('integerRangePattern', () => {
  for (const [min, max] of [[0, 65535], [100, undefined], [1, 5000], [1000, undefined], [37, 412], [0, undefined], [5, 5]] as const) {
    test(`[${min}, ${max ?? '∞'}]: every integer up to 70000 matches exactly when in range`, () => {
      const re = new RegExp(`^${integerRangePattern(min, max)}$`);
      const wrong: number[] = [];
      for (let v = 0; v <= 70_000; v++) if (re.test(String(v)) !== (v >= min && (max === undefined || v <= max))) wrong.push(v);
      assert.deepEqual(wrong, []);
      for (const bad of ['-5', '1.5', '0100', '', ' 100', '1e3', '+100']) assert.equal(re.test(bad), false, bad);
    });
  }

  test('rejects a bad range', () => {
    assert.throws(() => integerRangePattern(-1), /min must be a non-negative integer, got -1/);
    assert.throws(() => integerRangePattern(5, 4), /max must be an integer of at least min \(5\), got 4/);
  });
});
