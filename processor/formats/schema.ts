/**
 * Event schemas are configuration: a JSON file (see `schemas/trip-event.json`) or the name of a
 * built-in one. Loading validates the whole file and reports every problem at once, each naming
 * the field (or key) and the value received.
 */
import { readFile } from 'node:fs/promises';
import tripEvent from './schemas/trip-event.json' with { type: 'json' };
import { SchemaError } from './errors.js';
import { FIELD_TYPES } from './types.js';
import type { EventSchema, FieldSpec, FieldType } from './types.js';

/** The schemas that can be named instead of given as a file path. */
export const BUILT_IN_SCHEMAS: Readonly<Record<string, unknown>> = { TripEvent: tripEvent };

const SCHEMA_KEYS = new Set(['name', 'doc', '$comment', 'fields', 'typeField', 'idField', 'timeField']);
const FIELD_KEYS = new Set(['name', 'type', 'nullable', 'doc']);
/** Which field types each role field may have. */
const ROLE_TYPES: Readonly<Record<'typeField' | 'idField' | 'timeField', readonly FieldType[]>> = {
  typeField: ['string'],
  idField: ['long', 'int', 'string'],
  timeField: ['timestamp-millis'],
};

/**
 * Loads a schema: `nameOrPath` is a built-in schema name (`TripEvent`) or the path of a JSON
 * schema file. Throws {@link SchemaError} listing every problem.
 */
export async function loadSchema(nameOrPath: string): Promise<EventSchema> {
  const builtIn = BUILT_IN_SCHEMAS[nameOrPath];
  if (builtIn !== undefined) return parseSchema(builtIn, `built-in "${nameOrPath}"`);
  let text: string;
  try {
    text = await readFile(nameOrPath, 'utf8');
  } catch (error) {
    throw new SchemaError(JSON.stringify(nameOrPath), [
      `not a built-in schema (${Object.keys(BUILT_IN_SCHEMAS).join(', ')}) and not a readable file: ${(error as Error).message}`,
    ], { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SchemaError(nameOrPath, [`not JSON: ${(error as Error).message}`], { cause: error });
  }
  return parseSchema(raw, nameOrPath);
}

/**
 * Validates a parsed schema document and returns it as an {@link EventSchema}. `source` names
 * it in the error message (a file path). Throws {@link SchemaError} listing every problem.
 */
export function parseSchema(raw: unknown, source: string): EventSchema {
  const problems: string[] = [];
  if (!isPlainObject(raw)) {
    throw new SchemaError(source, [`expected a JSON object, got ${show(raw)}`]);
  }
  for (const key of Object.keys(raw)) {
    if (!SCHEMA_KEYS.has(key)) problems.push(`unknown key "${key}" (value ${show(raw[key])}); expected one of ${[...SCHEMA_KEYS].join(', ')}`);
  }
  const name = raw['name'];
  if (typeof name !== 'string' || name.trim() === '') problems.push(`"name": expected a non-empty string, got ${show(name)}`);

  const fields: FieldSpec[] = [];
  const rawFields = raw['fields'];
  if (!Array.isArray(rawFields) || rawFields.length === 0) {
    problems.push(`"fields": expected a non-empty array of fields, got ${show(rawFields)}`);
  } else {
    const seen = new Map<string, number>();
    rawFields.forEach((rawField: unknown, index) => {
      const field = parseField(rawField, index, problems);
      if (field === undefined) return;
      const first = seen.get(field.name);
      if (first !== undefined) {
        problems.push(`field "${field.name}" (fields[${index}]): duplicate of fields[${first}]`);
        return;
      }
      seen.set(field.name, index);
      fields.push(field);
    });
  }

  const schema: { -readonly [K in keyof EventSchema]: EventSchema[K] } = { name: typeof name === 'string' ? name : '', fields };
  for (const role of ['typeField', 'idField', 'timeField'] as const) {
    const value = raw[role];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') {
      problems.push(`"${role}": expected a field name, got ${show(value)}`);
      continue;
    }
    const field = fields.find((f) => f.name === value);
    if (field === undefined) {
      if (Array.isArray(rawFields)) problems.push(`"${role}": names field "${value}", which the schema does not have`);
      continue;
    }
    const allowed = ROLE_TYPES[role];
    if (!allowed.includes(field.type)) {
      problems.push(`"${role}": field "${value}" has type "${field.type}"; expected ${allowed.join(' or ')}`);
    }
    if (field.nullable === true && role !== 'typeField') {
      problems.push(`"${role}": field "${value}" is nullable; the ${role === 'idField' ? 'id' : 'event time'} field must always be present`);
    }
    schema[role] = value;
  }

  if (problems.length > 0) throw new SchemaError(source, problems);
  return schema;
}

function parseField(raw: unknown, index: number, problems: string[]): FieldSpec | undefined {
  if (!isPlainObject(raw)) {
    problems.push(`fields[${index}]: expected an object with "name" and "type", got ${show(raw)}`);
    return undefined;
  }
  const name = raw['name'];
  const label = typeof name === 'string' && name !== '' ? `field "${name}"` : `fields[${index}]`;
  let ok = true;
  if (typeof name !== 'string' || name === '') {
    problems.push(`fields[${index}]: "name": expected a non-empty string, got ${show(name)}`);
    ok = false;
  }
  for (const key of Object.keys(raw)) {
    if (!FIELD_KEYS.has(key)) {
      problems.push(`${label}: unknown key "${key}" (value ${show(raw[key])}); expected one of ${[...FIELD_KEYS].join(', ')}`);
      ok = false;
    }
  }
  const type = raw['type'];
  if (typeof type !== 'string' || !(FIELD_TYPES as readonly string[]).includes(type)) {
    problems.push(`${label}: unknown type ${show(type)}; expected one of ${FIELD_TYPES.join(', ')}`);
    ok = false;
  }
  const nullable = raw['nullable'];
  if (nullable !== undefined && typeof nullable !== 'boolean') {
    problems.push(`${label}: "nullable": expected true or false, got ${show(nullable)}`);
    ok = false;
  }
  if (!ok) return undefined;
  return nullable === true
    ? { name: name as string, type: type as FieldType, nullable: true }
    : { name: name as string, type: type as FieldType };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Renders a received value for a message, truncated. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
