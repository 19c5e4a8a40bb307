/**
 * The README's property table states every runtime property of the catalogue, with its default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PROPERTY_SPECS } from '../../processor/config/catalogue.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The table rows: first cell (property names in backticks) and second cell (default). */
function tableRows(): { names: string[]; defaults: string[] }[] {
  return readme
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim());
      const names = [...(cells[0] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]!);
      const defaults = [...(cells[1] ?? '').matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
      return { names, defaults };
    });
}

test('the README lists every runtime property, with the catalogue default', () => {
  const rows = tableRows();
  for (const spec of PROPERTY_SPECS) {
    const row = rows.find((r) => r.names.includes(spec.name));
    assert.ok(row, `README table lacks ${spec.name}`);
    const dflt = 'default' in spec ? spec.default : undefined;
    if (dflt === undefined) continue;
    // Rows listing several properties give their defaults in the same order.
    const withDefaults = row.names.filter((n) => {
      const s = PROPERTY_SPECS.find((p) => p.name === n);
      return s !== undefined && 'default' in s && s.default !== undefined;
    });
    assert.equal(row.defaults[withDefaults.indexOf(spec.name)], dflt, `README default of ${spec.name}`);
  }
});
