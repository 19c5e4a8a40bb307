/**
 * Facts about the bundled NYC taxi sample computed straight from the CSV text (no project code),
 * for end-to-end assertions: row count, the sum of total_amount, rows per pickup location.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the bundled sample. */
export const SAMPLE_CSV = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'data/nyc-tlc/yellow_tripdata_2018-01_sample.csv');

/** Splits a CSV line with double-quoted fields. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/** The sample's facts. */
export function sampleFacts(path = SAMPLE_CSV): { rows: number; totalAmountCents: number; rowsPerPickupLocation: Map<number, number> } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = splitCsv(lines[0]!);
  const total = header.indexOf('total_amount');
  const pu = header.indexOf('PULocationID');
  let cents = 0;
  const perLocation = new Map<number, number>();
  for (const line of lines.slice(1)) {
    const f = splitCsv(line);
    cents += Math.round(Number(f[total]) * 100);
    const loc = Number(f[pu]);
    perLocation.set(loc, (perLocation.get(loc) ?? 0) + 1);
  }
  return { rows: lines.length - 1, totalAmountCents: cents, rowsPerPickupLocation: perLocation };
}
