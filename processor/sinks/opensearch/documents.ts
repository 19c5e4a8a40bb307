/**
 * What the sink writes: the index mapping derived from the event schema, each event as a JSON
 * document (64-bit longs written exactly, datetimes as ISO-8601 UTC), and the source-order key
 * that keeps replays from creating or overwriting anything (see `orderKey`).
 */
import { ConfigError } from '../../../common/errors.js';
import type { EventSchema, EventValue, FieldType } from '../../formats/types.js';
import type { SourcePosition } from '../../lifecycle.js';

/** The document field holding the source-order key (`orderKey`) of the event that wrote the document. */
export const ORDER_FIELD = 'etl_order';


const MAPPING_TYPES: Readonly<Record<FieldType, Record<string, unknown>>> = {
  int: { type: 'integer' },
  long: { type: 'long' },
  double: { type: 'double' },
  // Strings are exact values (flags, types); very long ones (padding) are kept in _source only.
  string: { type: 'keyword', ignore_above: 1024 },
  boolean: { type: 'boolean' },
  'timestamp-millis': { type: 'date', format: 'strict_date_optional_time||epoch_millis' },
};

/**
 * The mapping of the schema's documents: one property per field (datetimes `date`, `long` as
 * `long`, `double` as `double`, strings `keyword`), a `geo_point` for every pair of
 * `<name>_latitude`/`<name>_longitude` doubles (named `<name>_location`), the order key, and
 * `dynamic: strict` so a document with a field the schema lacks is refused rather than guessed.
 */
export function mappingFor(schema: EventSchema): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const field of schema.fields) properties[field.name] = MAPPING_TYPES[field.type];
  for (const point of geoPoints(schema)) properties[point.name] = { type: 'geo_point' };
  properties[ORDER_FIELD] = { type: 'keyword' };
  return { dynamic: 'strict', properties };
}

interface GeoPoint {
  readonly name: string;
  readonly latIndex: number;
  readonly lonIndex: number;
}

/** The coordinate pairs of a schema: `x_latitude` and `x_longitude`, both doubles, make `x_location`. */
function geoPoints(schema: EventSchema): GeoPoint[] {
  const points: GeoPoint[] = [];
  schema.fields.forEach((field, latIndex) => {
    const match = /^(.*)_latitude$/.exec(field.name);
    if (!match || field.type !== 'double') return;
    const lonIndex = schema.fields.findIndex((f) => f.name === `${match[1]}_longitude` && f.type === 'double');
    if (lonIndex >= 0) points.push({ name: `${match[1]}_location`, latIndex, lonIndex });
  });
  return points;
}

/** Turns decoded events into JSON documents, exactly. */
export class DocumentEncoder {
  readonly #names: readonly string[];
  readonly #types: readonly FieldType[];
  readonly #points: readonly GeoPoint[];

  constructor(schema: EventSchema) {
    const taken = new Set(schema.fields.map((f) => f.name));
    const points = geoPoints(schema);
    for (const name of [ORDER_FIELD, ...points.map((p) => p.name)]) {
      if (taken.has(name)) throw new ConfigError([`EventSchema: the field "${name}" clashes with a field the OpenSearch sink adds; rename it`]);
    }
    this.#names = schema.fields.map((f) => JSON.stringify(f.name));
    this.#types = schema.fields.map((f) => f.type);
    this.#points = points;
  }

  /** The event as a JSON object text, with the order key. */
  encode(values: readonly EventValue[], order: string): string {
    let out = `{"${ORDER_FIELD}":"${order}"`;
    for (let i = 0; i < this.#names.length; i += 1) {
      out += ',';
      out += `${this.#names[i]}:${jsonValue(values[i] ?? null, this.#types[i]!)}`;
    }
    for (const point of this.#points) {
      const lat = values[point.latIndex];
      const lon = values[point.lonIndex];
      if (typeof lat === 'number' && typeof lon === 'number') out += `,${JSON.stringify(point.name)}:{"lat":${lat},"lon":${lon}}`;
    }
    return `${out}}`;
  }
}

function jsonValue(value: EventValue, type: FieldType): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (type === 'timestamp-millis' && typeof value === 'number') {
    const date = new Date(value);
    const year = date.getUTCFullYear();
    // ISO-8601 for the years it can write plainly; epoch millis (also accepted by the mapping) beyond.
    return year >= 0 && year <= 9999 ? `"${date.toISOString()}"` : String(value);
  }
  return JSON.stringify(value) ?? 'null';
}

const DIGITS = /^(0|[1-9]\d{0,998})$/;

/**
 * A key that orders events of one document as the source does, compared as strings: the
 * position's integer (a Kinesis sequence number, a Kafka offset) with its digit count in front (so
 * string order is numeric order), then the KPL sub-sequence number, zero-padded. Kinesis sequence
 * numbers grow within a shard, and a child shard's are larger than its parents', so the key grows
 * across splits and merges too. Undefined when the position is not of that form.
 */
export function orderKey(origin: SourcePosition): string | undefined {
  const [sequence, sub, extra] = origin.position.split(':');
  if (sequence === undefined || extra !== undefined || !DIGITS.test(sequence)) return undefined;
  if (sub !== undefined && !/^\d{1,10}$/.test(sub)) return undefined;
  return `${String(sequence.length).padStart(3, '0')}${sequence}:${(sub ?? '0').padStart(10, '0')}`;
}
