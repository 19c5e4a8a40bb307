/**
 * NYC TLC yellow-taxi CSV rows to TripEvent JSON.
 *
 * - Columns are found by the header's names (case-insensitive), so extra or reordered columns
 *   (congestion_surcharge, airport_fee, later years' layouts) work; an object without a header
 *   row uses the previous object's header, else the 19-column layout of `data/nyc-tlc/`.
 * - Timestamps are New York local time, written `1/1/2018, 2:21:05 AM` (or `2018-01-01 02:21:05`
 *   as in the TLC's own files); they become UTC ISO-8601 with milliseconds. DST: see time-zone.ts.
 * - An empty cell or `-` (not applicable) becomes null; the two datetimes are required.
 * - trip_id: see trip-id.ts.
 * - A bad row (wrong column count, an unparsable number or date) throws InvalidRowError naming the
 *   line, the column and the value.
 */
import { InvalidRowError } from './errors.js';
import { NEW_YORK, localToUtc } from './time-zone.js';
import { tripId } from './trip-id.js';
import type { TripEvent } from './types.js';

/** The TLC columns a TripEvent is made from, with the TripEvent field and type of each. */
export const TLC_COLUMNS = [
  { column: 'VendorID', field: 'vendor_id', kind: 'int' },
  { column: 'tpep_pickup_datetime', field: 'pickup_datetime', kind: 'datetime' },
  { column: 'tpep_dropoff_datetime', field: 'dropoff_datetime', kind: 'datetime' },
  { column: 'passenger_count', field: 'passenger_count', kind: 'int' },
  { column: 'trip_distance', field: 'trip_distance', kind: 'double' },
  { column: 'RatecodeID', field: 'ratecode_id', kind: 'int' },
  { column: 'store_and_fwd_flag', field: 'store_and_fwd_flag', kind: 'string' },
  { column: 'PULocationID', field: 'pickup_location_id', kind: 'int' },
  { column: 'DOLocationID', field: 'dropoff_location_id', kind: 'int' },
  { column: 'payment_type', field: 'payment_type', kind: 'int' },
  { column: 'fare_amount', field: 'fare_amount', kind: 'double' },
  { column: 'extra', field: 'extra', kind: 'double' },
  { column: 'mta_tax', field: 'mta_tax', kind: 'double' },
  { column: 'tip_amount', field: 'tip_amount', kind: 'double' },
  { column: 'tolls_amount', field: 'tolls_amount', kind: 'double' },
  { column: 'improvement_surcharge', field: 'improvement_surcharge', kind: 'double' },
  { column: 'total_amount', field: 'total_amount', kind: 'double' },
] as const;

/** The full column list of the bundled sample (and the TLC's 2018 layout plus the later two). */
export const TLC_SAMPLE_HEADER = [...TLC_COLUMNS.map((c) => c.column), 'congestion_surcharge', 'airport_fee'] as const;

/** Where each TripEvent column sits in a row, and how many columns a row has. */
export interface TlcLayout {
  readonly indexes: readonly number[];
  readonly columnCount: number;
}

/** The layout of a header-less object when no header has been seen. */
export const DEFAULT_TLC_LAYOUT: TlcLayout = {
  indexes: TLC_COLUMNS.map((_, i) => i),
  columnCount: TLC_SAMPLE_HEADER.length,
};

/** Splits one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  while (true) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      while (i < n) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          value += line.slice(i);
          i = n;
          break;
        }
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      const comma = line.indexOf(',', i);
      // anything between the closing quote and the comma is kept, as most readers do
      value += line.slice(i, comma < 0 ? n : comma);
      fields.push(value);
      if (comma < 0) break;
      i = comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      fields.push(line.slice(i, comma < 0 ? n : comma));
      if (comma < 0) break;
      i = comma + 1;
    }
  }
  return fields;
}

/** The layout a header row gives, or undefined when the line is not a TLC header. */
export function tlcLayoutFromHeader(fields: readonly string[]): TlcLayout | undefined {
  const names = fields.map((f) => f.trim().toLowerCase());
  if (!names.includes('tpep_dropoff_datetime') && !names.includes('vendorid')) return undefined;
  const indexes = TLC_COLUMNS.map((c) => names.indexOf(c.column.toLowerCase()));
  const missing = TLC_COLUMNS.filter((_, i) => indexes[i] === -1).map((c) => c.column);
  if (missing.length > 0) throw new Error(`the CSV header lacks the column(s) ${missing.join(', ')}`);
  return { indexes, columnCount: fields.length };
}

const US_STYLE = /^(\d{1,2})\/(\d{1,2})\/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])$/;
const ISO_STYLE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/**
 * A TLC timestamp (New York local time) as UTC epoch ms, or undefined if it is not one.
 * `timeZone` is for tests and other cities' data.
 */
export function parseTlcTimestamp(text: string, timeZone: string = NEW_YORK): number | undefined {
  let y: number, mo: number, d: number, h: number, mi: number, s: number, ms = 0;
  const us = US_STYLE.exec(text.trim());
  if (us) {
    [mo, d, y, h, mi] = [Number(us[1]), Number(us[2]), Number(us[3]), Number(us[4]), Number(us[5])];
    s = Number(us[6] ?? 0);
    if (h < 1 || h > 12) return undefined;
    const pm = (us[7] as string).toUpperCase() === 'PM';
    h = (h % 12) + (pm ? 12 : 0);
  } else {
    const iso = ISO_STYLE.exec(text.trim());
    if (!iso) return undefined;
    [y, mo, d, h, mi] = [Number(iso[1]), Number(iso[2]), Number(iso[3]), Number(iso[4]), Number(iso[5])];
    s = Number(iso[6] ?? 0);
    ms = Number((iso[7] ?? '0').padEnd(3, '0'));
  }
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const local = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (new Date(local).getUTCDate() !== d) return undefined; // 2/30 and the like
  return localToUtc(local, timeZone);
}

const INT = /^[+-]?\d+$/;
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A converted row: the event, its JSON text, and its event times. */
export interface ConvertedTrip {
  readonly event: TripEvent;
  readonly json: string;
}

/**
 * Converts one data row. `line` is its 1-based line number in `source` (the header is line 1).
 * Throws InvalidRowError.
 */
export function convertTlcRow(raw: string, line: number, source: string, layout: TlcLayout = DEFAULT_TLC_LAYOUT): ConvertedTrip {
  const fields = parseCsvLine(raw);
  if (fields.length !== layout.columnCount) {
    throw new InvalidRowError(`expected ${layout.columnCount} columns, got ${fields.length}`, { source, line });
  }
  const values: (number | string | null)[] = new Array(TLC_COLUMNS.length);
  let json = '{';
  for (let i = 0; i < TLC_COLUMNS.length; i += 1) {
    const spec = TLC_COLUMNS[i] as (typeof TLC_COLUMNS)[number];
    const text = (fields[layout.indexes[i] as number] as string).trim();
    let reason: string | undefined;
    let value: number | string | null = null;
    if (spec.kind === 'datetime') {
      const ms = parseTlcTimestamp(text);
      if (ms === undefined) reason = 'not a date and time like "1/31/2018, 2:21:05 AM" or "2018-01-31 02:21:05"';
      else value = new Date(ms).toISOString();
    } else if (text === '' || text === '-') {
      value = null;
    } else if (spec.kind === 'int') {
      value = Number(text);
      if (!INT.test(text) || Math.abs(value) > 2 ** 31 - 1) reason = 'not an integer';
    } else if (spec.kind === 'double') {
      value = Number(text);
      if (!DOUBLE.test(text) || !Number.isFinite(value)) reason = 'not a number';
    } else {
      value = text;
    }
    if (reason !== undefined) throw new InvalidRowError(reason, { source, line, column: spec.column, value: text });
    values[i] = value;
    json += `${i === 0 ? '' : ','}"${spec.field}":${typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : String(value === 0 ? 0 : value)}`;
  }
  const id = tripId(line, raw);
  json += `,"trip_id":${id.toString()},"type":"trip"}`;
  const event: TripEvent = {
    vendor_id: values[0] as number | null,
    pickup_datetime: values[1] as string,
    dropoff_datetime: values[2] as string,
    passenger_count: values[3] as number | null,
    trip_distance: values[4] as number | null,
    ratecode_id: values[5] as number | null,
    store_and_fwd_flag: values[6] as string | null,
    pickup_location_id: values[7] as number | null,
    dropoff_location_id: values[8] as number | null,
    payment_type: values[9] as number | null,
    fare_amount: values[10] as number | null,
    extra: values[11] as number | null,
    mta_tax: values[12] as number | null,
    tip_amount: values[13] as number | null,
    tolls_amount: values[14] as number | null,
    improvement_surcharge: values[15] as number | null,
    total_amount: values[16] as number | null,
    trip_id: id,
    type: 'trip',
  };
  return { event, json };
}
