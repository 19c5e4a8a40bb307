/**
 * The partition-template engine: turns a Hive-style template such as
 * `pickup_location={pickup_location_id:%03d}/year={pickup_datetime:yyyy}/month={pickup_datetime:MM}/`
 * into a renderer the S3 sink calls once per event. Compile once (syntax and, when the schema's field
 * names are given, field existence are checked then), render fast (no parsing, no Date allocation for
 * events in the same UTC day as the previous one).
 *
 * Syntax:
 * - literal text, copied as is (runs of '/' collapse to one; a leading '/' is dropped);
 * - `{field}`: the value as text. Strings are escaped like Hive's partition values
 *   (`FileUtils.escapePathName`: control characters, `"#%'*\/:=?\\{[]^` and DEL become `%XX`);
 * - `{field:%d}`, `{field:%0Nd}`: an integer, printf-style, zero-padded to N characters including
 *   the sign (`-41` with `%04d` is `-041`);
 * - `{field:PATTERN}`: a UTC date/time of an epoch-milliseconds value, PATTERN made of `yyyy`, `MM`,
 *   `dd`, `HH`, `mm`, `ss` and the separators `-`, `_`, `.` (e.g. `{pickup_datetime:yyyy-MM-dd}`);
 * - `{job_start}`: the job start time in epoch ms (the original's `job_start=<ms>/`); it takes the
 *   same formats as a field. The name is reserved: it never refers to an event field.
 *
 * Values: number, bigint, string, boolean, null. null, a missing field and '' render as
 * `__HIVE_DEFAULT_PARTITION__`, as in Hive. The rendered path never starts with '/' and ends with '/'
 * (added when the template lacks it), unless the template is empty (no partitioning: '').
 */
import { PartitionTemplateError, PartitionValueError } from './errors.js';

/** The partition Hive uses for a null or empty value. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** The reserved name of the job start time in a template. */
export const JOB_START_FIELD = 'job_start';

/** What a renderer needs besides the event. */
export interface PartitionContext {
  /** When this job started, epoch ms. */
  readonly jobStartMs: number;
}

/** A compiled template. */
export interface PartitionTemplate {
  /** The template as given. */
  readonly template: string;
  /** The event fields the template reads, in order of first use, without `job_start`. */
  readonly fields: readonly string[];
  /** Whether the template uses `{job_start}`. */
  readonly usesJobStart: boolean;
  /**
   * The partition path of one event: '' (empty template) or a path ending in '/', never starting
   * with '/'. `getField` returns the event's value of a field (undefined when missing). Throws
   * PartitionValueError for a value the format cannot take (e.g. text for `%03d`).
   */
  render(getField: (name: string) => unknown, context: PartitionContext): string;
  /**
   * A renderer of events given as arrays of values (`indexOf(name)`: a field's index, -1 when the
   * event has no such field), with exactly the results and errors of `render`, memoised: the
   * path is looked up by the values it depends on (the value itself for `{field}` and `%d`; for a
   * date pattern, the epoch-ms value's UTC day, hour, minute or second, the finest its tokens
   * show) and rendered only when new. The same partition is then the same string object, so a
   * map keyed by it does not hash a new string per event. At most {@link MAX_MEMOISED_PATHS}
   * paths are kept (then the memo starts over).
   */
  valuesRenderer(indexOf: (name: string) => number, context: PartitionContext): (values: readonly unknown[]) => string;
  /**
   * What a path depends on, one level per field the template reads: the field's index and 0 (the
   * value itself) or the date unit in ms (the finest its date patterns show). Events equal on
   * every level render the same path (or fail the same way). The memo of `valuesRenderer` and the
   * native columnar path (formats/native.ts) key partitions by these.
   */
  keyLevels(indexOf: (name: string) => number): { readonly index: number; readonly unit: number }[];
}

/** Paths a {@link PartitionTemplate.valuesRenderer} keeps before it starts over. */
export const MAX_MEMOISED_PATHS = 65_536;

/**
 * What a field's part of a path depends on: the value itself (`unit` 0), or for a date pattern
 * the epoch-ms value in whole units of `unit` ms (a day, hour, minute or second).
 */
interface Slot {
  readonly field: string;
  readonly unit: number;
}

type Part = (getField: (name: string) => unknown, context: PartitionContext) => string;

const DATE_TOKENS = ['yyyy', 'MM', 'dd', 'HH', 'mm', 'ss'] as const;
type DateToken = (typeof DATE_TOKENS)[number];
const DATE_SEPARATORS = new Set(['-', '_', '.']);
const MS_PER_DAY = 86_400_000;
const MAX_PAD = 32;

/**
 * Compiles a partition template. With `fieldNames` (the schema's fields), every `{field}` must be
 * one of them; without, only the syntax is checked. Throws PartitionTemplateError naming the
 * template and the position of the first problem.
 */
export function compilePartitionTemplate(template: string, fieldNames?: readonly string[]): PartitionTemplate {
  const known = fieldNames === undefined ? undefined : new Set(fieldNames);
  const parts: (string | Part)[] = [];
  const fields: string[] = [];
  const slots: Slot[] = [];
  let usesJobStart = false;
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i] as string;
    if (ch === '}') throw new PartitionTemplateError(template, i, "'}' without a matching '{'");
    if (ch !== '{') {
      literal += ch;
      i += 1;
      continue;
    }
    const close = template.indexOf('}', i + 1);
    const nextOpen = template.indexOf('{', i + 1);
    if (close < 0 || (nextOpen >= 0 && nextOpen < close)) {
      throw new PartitionTemplateError(template, i, "unclosed '{': no '}' before the end of the template or the next '{'");
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    const body = template.slice(i + 1, close);
    const colon = body.indexOf(':');
    const name = colon < 0 ? body : body.slice(0, colon);
    const format = colon < 0 ? undefined : body.slice(colon + 1);
    if (name === '') throw new PartitionTemplateError(template, i + 1, `empty field name in "{${body}}"`);
    if (/\s/.test(name)) throw new PartitionTemplateError(template, i + 1, `field name "${name}" contains whitespace`);
    const isJobStart = name === JOB_START_FIELD;
    if (isJobStart) usesJobStart = true;
    else {
      if (known !== undefined && !known.has(name)) {
        throw new PartitionTemplateError(template, i + 1, `unknown field "${name}" (the schema's fields: ${[...known].join(', ')})`);
      }
      if (!fields.includes(name)) fields.push(name);
    }
    const { formatter, unit } = compileFormat(template, i + 2 + name.length, name, format);
    if (!isJobStart) slots.push({ field: name, unit });
    parts.push(
      isJobStart
        ? (_getField, context) => formatter(context.jobStartMs)
        : (getField) => formatter(getField(name)),
    );
    i = close + 1;
  }
  if (literal !== '') parts.push(literal);
  const normalised = normaliseLiterals(parts);
  const render = buildRenderer(normalised);
  return {
    template,
    fields,
    usesJobStart,
    render,
    valuesRenderer: (indexOf, context) => memoisedRenderer(render, slots, indexOf, context),
    keyLevels: (indexOf) => keyLevels(slots, indexOf),
  };
}

/** Marks a value the memo cannot key (an object, an out-of-range date): rendered every time. */
const UNKEYED = Symbol('unkeyed');

/** The memo key of a value for one slot (see {@link PartitionTemplate.valuesRenderer}). */
function slotKey(value: unknown, unit: number): unknown {
  if (unit === 0) return typeof value === 'object' && value !== null ? UNKEYED : value;
  // Date patterns: numbers only (what the formatter does with them, see compileDateFormat).
  if (typeof value !== 'number' || !(Math.abs(value) <= MAX_DATE_MS)) return value === null || value === undefined ? value : UNKEYED;
  const ms = Math.floor(value);
  const day = Math.floor(ms / MS_PER_DAY);
  if (unit === MS_PER_DAY) return day;
  return day * (MS_PER_DAY / unit) + Math.floor((ms - day * MS_PER_DAY) / unit);
}

type Memo = Map<unknown, unknown>;

/**
 * One level per field; a field used by several parts is keyed by the finest of them (the value
 * itself, or the smallest date unit: each unit divides the next).
 */
function keyLevels(slots: readonly Slot[], indexOf: (name: string) => number): { index: number; unit: number }[] {
  const levels: { index: number; unit: number }[] = [];
  for (const slot of slots) {
    const index = indexOf(slot.field);
    const level = levels.find((l) => l.index === index);
    if (level === undefined) levels.push({ index, unit: slot.unit });
    else if (slot.unit === 0 || (level.unit !== 0 && slot.unit < level.unit)) level.unit = slot.unit;
  }
  return levels;
}

function memoisedRenderer(
  render: PartitionTemplate['render'],
  slots: readonly Slot[],
  indexOf: (name: string) => number,
  context: PartitionContext,
): (values: readonly unknown[]) => string {
  const renderValues = (values: readonly unknown[]): string => render((name) => values[indexOf(name)], context);
  const levels = keyLevels(slots, indexOf);
  if (levels.length === 0) return renderValues;
  const last = levels.length - 1;
  let root: Memo = new Map();
  let size = 0;
  // A new path: rendered first (a value the template cannot take throws and leaves no trace in
  // the memo), then stored with the nodes leading to it, so the memo never holds more than
  // MAX_MEMOISED_PATHS paths and the nodes to them.
  const insert = (values: readonly unknown[]): string => {
    const path = renderValues(values);
    if (size >= MAX_MEMOISED_PATHS) {
      root = new Map();
      size = 0;
    }
    let node = root;
    for (let l = 0; l < last; l += 1) {
      const level = levels[l] as { index: number; unit: number };
      const key = slotKey(values[level.index], level.unit);
      let next = node.get(key) as Memo | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(key, next);
      }
      node = next;
    }
    const level = levels[last] as { index: number; unit: number };
    node.set(slotKey(values[level.index], level.unit), path);
    size += 1;
    return path;
  };
  return (values) => {
    let node = root;
    for (let l = 0; ; l += 1) {
      const level = levels[l] as { index: number; unit: number };
      const key = slotKey(values[level.index], level.unit);
      if (key === UNKEYED) return renderValues(values);
      const next = node.get(key);
      if (next === undefined) return insert(values);
      if (l === last) return next as string;
      node = next as Memo;
    }
  };
}

/** Collapses runs of '/', drops a leading '/', and appends '/' unless the path already ends in one (or is empty). */
function normaliseLiterals(parts: readonly (string | Part)[]): (string | Part)[] {
  const out: (string | Part)[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') {
      out.push(part);
      continue;
    }
    let text = part.replace(/\/{2,}/g, '/');
    if (out.length === 0) text = text.replace(/^\/+/, '');
    if (text !== '') out.push(text);
  }
  const last = out[out.length - 1];
  if (last === undefined) return out;
  if (typeof last === 'string') {
    if (!last.endsWith('/')) out[out.length - 1] = `${last}/`;
  } else {
    out.push('/');
  }
  return out;
}

function buildRenderer(parts: readonly (string | Part)[]): PartitionTemplate['render'] {
  if (parts.length === 0) return () => '';
  if (parts.every((part) => typeof part === 'string')) {
    const constant = parts.join('');
    return () => constant;
  }
  return (getField, context) => {
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : part(getField, context);
    return out;
  };
}

type Formatter = (value: unknown) => string;

/** A part's formatter, and what its output depends on (see {@link Slot}). */
interface CompiledFormat {
  readonly formatter: Formatter;
  readonly unit: number;
}

/** The smallest unit (ms) a date pattern's tokens show. */
function dateUnit(tokens: readonly string[]): number {
  if (tokens.includes('ss')) return 1000;
  if (tokens.includes('mm')) return 60_000;
  if (tokens.includes('HH')) return 3_600_000;
  return MS_PER_DAY;
}

function compileFormat(template: string, position: number, field: string, format: string | undefined): CompiledFormat {
  if (format === undefined) return { formatter: (value) => formatPlain(value), unit: 0 };
  if (format === '') throw new PartitionTemplateError(template, position, `empty format after "${field}:"`);
  if (format.startsWith('%')) {
    const match = /^%(?:0([1-9]\d?))?d$/.exec(format);
    if (!match) throw unknownFormat(template, position, field, format);
    const width = match[1] === undefined ? 0 : Number(match[1]);
    if (width > MAX_PAD) throw new PartitionTemplateError(template, position, `width ${width} in "${format}" is over ${MAX_PAD}`);
    return { formatter: (value) => formatInteger(field, value, width), unit: 0 };
  }
  const tokens = parseDatePattern(format);
  if (tokens === undefined) throw unknownFormat(template, position, field, format);
  return { formatter: compileDateFormat(field, tokens), unit: dateUnit(tokens) };
}

function unknownFormat(template: string, position: number, field: string, format: string): PartitionTemplateError {
  return new PartitionTemplateError(
    template,
    position,
    `unknown format "${format}" for "${field}": use %d, %0Nd, or a UTC date pattern of yyyy, MM, dd, HH, mm, ss separated by - _ .`,
  );
}

/** Splits a date pattern into tokens and separators; undefined when it contains anything else. */
function parseDatePattern(format: string): (DateToken | string)[] | undefined {
  const out: (DateToken | string)[] = [];
  let i = 0;
  let sawToken = false;
  while (i < format.length) {
    const ch = format[i] as string;
    if (DATE_SEPARATORS.has(ch)) {
      out.push(ch);
      i += 1;
      continue;
    }
    let j = i;
    while (j < format.length && format[j] === ch) j += 1;
    const run = format.slice(i, j);
    if (!(DATE_TOKENS as readonly string[]).includes(run)) return undefined;
    out.push(run);
    sawToken = true;
    i = j;
  }
  return sawToken ? out : undefined;
}

/** The UTC calendar fields of one day, cached because consecutive events mostly share a day. */
interface DayFields {
  day: number;
  yyyy: string;
  MM: string;
  dd: string;
}

function compileDateFormat(field: string, tokens: readonly (DateToken | string)[]): Formatter {
  let cache: DayFields | undefined;
  const dayFields = (day: number): DayFields => {
    if (cache !== undefined && cache.day === day) return cache;
    const date = new Date(day * MS_PER_DAY);
    const year = date.getUTCFullYear();
    cache = {
      day,
      yyyy: year < 0 ? `-${pad(String(-year), 4)}` : pad(String(year), 4),
      MM: pad(String(date.getUTCMonth() + 1), 2),
      dd: pad(String(date.getUTCDate()), 2),
    };
    return cache;
  };
  return (value) => {
    if (value === null || value === undefined) return HIVE_DEFAULT_PARTITION;
    const ms = toEpochMs(field, value);
    const day = Math.floor(ms / MS_PER_DAY);
    const fieldsOfDay = dayFields(day);
    const msOfDay = ms - day * MS_PER_DAY;
    let out = '';
    for (const token of tokens) {
      switch (token) {
        case 'yyyy':
        case 'MM':
        case 'dd':
          out += fieldsOfDay[token];
          break;
        case 'HH':
          out += pad(String(Math.floor(msOfDay / 3_600_000)), 2);
          break;
        case 'mm':
          out += pad(String(Math.floor(msOfDay / 60_000) % 60), 2);
          break;
        case 'ss':
          out += pad(String(Math.floor(msOfDay / 1000) % 60), 2);
          break;
        default:
          out += token;
      }
    }
    return out;
  };
}

/** The largest |epoch ms| a JavaScript Date represents. */
const MAX_DATE_MS = 8.64e15;

function toEpochMs(field: string, value: unknown): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'bigint') ms = Number(value);
  else if (value instanceof Date) ms = value.getTime();
  else throw new PartitionValueError(field, `a date pattern needs epoch milliseconds, got ${describeValue(value)}`);
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) {
    throw new PartitionValueError(field, `a date pattern needs epoch milliseconds within ±${MAX_DATE_MS}, got ${describeValue(value)}`);
  }
  return Math.floor(ms);
}

function formatInteger(field: string, value: unknown, width: number): string {
  if (value === null || value === undefined || value === '') return HIVE_DEFAULT_PARTITION;
  let negative: boolean;
  let digits: string;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new PartitionValueError(field, `%d needs an integer, got ${describeValue(value)}`);
    negative = value < 0;
    const abs = Math.abs(value);
    digits = abs < 1e21 ? String(abs) : BigInt(abs).toString();
  } else if (typeof value === 'bigint') {
    negative = value < 0n;
    digits = (negative ? -value : value).toString();
  } else if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) {
    const big = BigInt(value);
    negative = big < 0n;
    digits = (negative ? -big : big).toString();
  } else {
    throw new PartitionValueError(field, `%d needs an integer, got ${describeValue(value)}`);
  }
  if (negative) return `-${pad(digits, width - 1)}`;
  return pad(digits, width);
}

function formatPlain(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value === '' ? HIVE_DEFAULT_PARTITION : escapePathName(value);
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      if (value === null || value === undefined) return HIVE_DEFAULT_PARTITION;
      return escapePathName(String(value));
  }
}

// Hive's FileUtils.charToEscape: control characters, DEL and "#%'*/:=?\{[]^. Control characters are the point here.
// eslint-disable-next-line no-control-regex
const ESCAPED = /[\u0000-\u001f\u007f"#%'*/:=?\\{[\]^]/;
// eslint-disable-next-line no-control-regex
const ESCAPED_ALL = /[\u0000-\u001f\u007f"#%'*/:=?\\{[\]^]/g;

/** Escapes a partition value the way Hive does (`%XX`, upper-case hex), so it is one safe path segment. */
export function escapePathName(value: string): string {
  if (!ESCAPED.test(value)) return value;
  return value.replace(ESCAPED_ALL, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function pad(digits: string, width: number): string {
  return digits.length >= width ? digits : digits.padStart(width, '0');
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}
