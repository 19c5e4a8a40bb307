/**
 * Input objects to events. The format is `--format`, else the extension (`.csv`, `.json`,
 * `.jsonl`, `.ndjson`, each optionally `.gz` or `.lz4`), else the content: a first non-empty line
 * starting with `{` is JSON lines; a TLC CSV header, or a first line that converts as a TLC row, is
 * CSV. An object of an unknown extension whose content is neither is skipped with the reason, never
 * parsed as CSV; so is an empty object.
 * - CSV: NYC TLC rows converted to TripEvent JSON (see csv.ts).
 * - JSON lines: sent as they are (byte for byte), parsed only to read the timestamp attribute
 *   (an ISO-8601 string, UTC when it has no offset, or epoch ms) and `trip_id` for the partition key.
 * A line that cannot become an event is yielded as an InvalidRowError; the caller decides.
 */
import { ReplayError, InvalidRowError } from '../errors.js';
import { DEFAULT_TLC_LAYOUT, convertTlcRow, parseCsvLine, tlcLayoutFromHeader, TLC_COLUMNS } from '../csv.js';
import type { TlcLayout } from '../csv.js';
import { fnv1a64 } from '../trip-id.js';
import type { InputFormat, ReplayEvent } from '../types.js';
import { readLines } from './lines.js';
import type { InputObject } from './objects.js';

/** An event, a row that could not become one, or an object skipped whole (with why). */
export type InputItem =
  | { readonly kind: 'event'; readonly event: ReplayEvent }
  | { readonly kind: 'invalid'; readonly error: InvalidRowError }
  | { readonly kind: 'skipped'; readonly source: string; readonly reason: string };

/** The format an object of unknown extension has by its first line, or the reason it is not read. */
function sniff(line: string, name: string, layout: TlcLayout): Exclude<InputFormat, 'auto'> | string {
  if (line.trimStart().startsWith('{')) return 'jsonl';
  try {
    if (tlcLayoutFromHeader(parseCsvLine(line))) return 'csv';
  } catch {
    return 'csv'; // a TLC header lacking columns: reading it as CSV reports which
  }
  try {
    convertTlcRow(line, 1, name, layout);
    return 'csv';
  } catch {
    const ext = /\.[^./\\]+$/.exec(name.replace(/\.(gz|lz4)$/i, ''))?.[0];
    return `${ext === undefined ? 'no extension' : `unknown extension ${ext}`}, and the first line is neither JSON nor a TLC CSV header or row (pass --format csv or --format jsonl to read it anyway)`;
  }
}

const encoder = new TextEncoder();

/** The format of an object by its name, or undefined when the name does not say. */
export function formatFromName(name: string): Exclude<InputFormat, 'auto'> | undefined {
  const base = name.toLowerCase().replace(/\.(gz|lz4)$/, '');
  if (base.endsWith('.csv')) return 'csv';
  if (/\.(jsonl|ndjson|json)$/.test(base)) return 'jsonl';
  return undefined;
}

/** The TripEvent field a timestamp attribute names for CSV input (TLC column names are accepted too). */
export function csvTimestampField(attribute: string): 'pickup_datetime' | 'dropoff_datetime' {
  const spec = TLC_COLUMNS.find((c) => c.kind === 'datetime' && (c.field === attribute || c.column === attribute));
  if (!spec) {
    throw new ReplayError(
      `timestamp attribute "${attribute}" is not a datetime of the TripEvents made from CSV: use pickup_datetime or dropoff_datetime`,
    );
  }
  return spec.field as 'pickup_datetime' | 'dropoff_datetime';
}

const ISO_NO_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** Reads a timestamp value: an ISO-8601 string (UTC if no offset) or epoch ms. */
export function parseTimestampValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = ISO_NO_ZONE.test(value) ? `${value.replace(' ', 'T')}Z` : value;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

const TRIP_ID_TEXT = /"trip_id"\s*:\s*(?:"([^"\\]{1,256})"|(-?\d{1,40}))/;

function jsonEvent(line: string, number: number, source: string, attribute: string): InputItem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { kind: 'invalid', error: new InvalidRowError(`not JSON: ${reason}`, { source, line: number }) };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { kind: 'invalid', error: new InvalidRowError('not a JSON object', { source, line: number }) };
  }
  const raw = (parsed as Record<string, unknown>)[attribute];
  const timestamp = parseTimestampValue(raw);
  if (timestamp === undefined) {
    return {
      kind: 'invalid',
      error: new InvalidRowError(raw === undefined ? 'the timestamp attribute is missing' : 'not an ISO-8601 time or epoch ms', {
        source,
        line: number,
        column: attribute,
        ...(raw === undefined ? {} : { value: typeof raw === 'string' ? raw : JSON.stringify(raw) }),
      }),
    };
  }
  // trip_id read from the text, not the parsed number, so 64-bit ids keep every digit.
  const id = TRIP_ID_TEXT.exec(line);
  const partitionKey = id ? (id[1] ?? id[2] ?? '') : fnv1a64(encoder.encode(line)).toString(16);
  return { kind: 'event', event: { data: encoder.encode(line), partitionKey, timestamp, source, line: number } };
}

/** Reads every object in order and yields its events (and its invalid rows). */
export async function* readEvents(
  objects: readonly InputObject[],
  options: { format: InputFormat; timestampAttribute: string },
): AsyncGenerator<InputItem> {
  let layout: TlcLayout = DEFAULT_TLC_LAYOUT;
  for (const object of objects) {
    let format = options.format === 'auto' ? formatFromName(object.name) : options.format;
    const csvField = format === 'csv' ? csvTimestampField(options.timestampAttribute) : undefined;
    let number = 0;
    let first = true;
    let content = false;
    for await (const line of readLines(await object.open(), object.name)) {
      number += 1;
      if (line.trim() === '') continue;
      content = true;
      if (format === undefined) {
        const sniffed = sniff(line, object.name, layout);
        if (sniffed !== 'csv' && sniffed !== 'jsonl') {
          yield { kind: 'skipped', source: object.name, reason: sniffed };
          break;
        }
        format = sniffed;
      }
      if (format === 'jsonl') {
        yield jsonEvent(line, number, object.name, options.timestampAttribute);
        continue;
      }
      if (first) {
        first = false;
        let header: TlcLayout | undefined;
        try {
          header = tlcLayoutFromHeader(parseCsvLine(line));
        } catch (error) {
          throw new ReplayError(`${object.name} line ${number}: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (header) {
          layout = header;
          continue;
        }
      }
      const field = csvField ?? csvTimestampField(options.timestampAttribute);
      try {
        const trip = convertTlcRow(line, number, object.name, layout);
        yield {
          kind: 'event',
          event: {
            data: encoder.encode(trip.json),
            partitionKey: trip.event.trip_id.toString(),
            timestamp: Date.parse(trip.event[field]),
            source: object.name,
            line: number,
          },
        };
      } catch (error) {
        if (!(error instanceof InvalidRowError)) throw error;
        yield { kind: 'invalid', error };
      }
    }
    if (!content) yield { kind: 'skipped', source: object.name, reason: number === 0 ? 'empty file' : 'no content (only blank lines)' };
  }
}
