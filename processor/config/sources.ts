/**
 * Reading the runtime properties from each of their sources — the catalogue's defaults, an
 * ApplicationProperties JSON document (file or environment variable), individual environment
 * variables, command-line flags — into layers of raw entries. Nothing is validated here beyond the
 * shape of the input; `./resolve.ts` merges the layers and `./build.ts` validates the result.
 */
import { UsageError } from '../../common/errors.js';
import { APPLICATION_PROPERTIES_ENV, PROPERTY_GROUP_ID } from '../../common/properties/index.js';
import type { PropertySpec } from '../../common/properties/index.js';
import { PROPERTY_SPECS } from './catalogue.js';
import type { PropertyName } from './catalogue.js';
import type { ProcessorConfig } from './types.js';

/** Where a property's value came from, lowest precedence first (see `./load.ts`). */
export type PropertySource = ProcessorConfig['resolved'][string]['from'];

/** The sources in precedence order, lowest first. */
export const PROPERTY_SOURCES: readonly PropertySource[] = ['default', 'properties-file', 'environment-json', 'environment', 'flag'];

/** One value as given: the property, the spelling used (the name or an alias), the value, and where exactly it came from. */
export interface PropertyEntry {
  readonly name: PropertyName;
  /** The spelling used: the property name or one of its aliases. */
  readonly spelling: string;
  /** The value, trimmed; '' means unset. */
  readonly value: string;
  /** For messages: `environment`, `flag --input-kinesis-stream`, `properties file ./app.json`, … */
  readonly origin: string;
}

/** The entries of one source, with what went wrong reading it. */
export interface PropertyLayer {
  readonly source: PropertySource;
  readonly entries: readonly PropertyEntry[];
  /** Problems that make the configuration invalid (malformed JSON, a value of the wrong JSON type). */
  readonly problems: readonly string[];
  /** Notes that do not (unknown names, ignored property groups). */
  readonly warnings: readonly string[];
}

const SPECS: readonly PropertySpec[] = PROPERTY_SPECS;

/** A property's spec by its name or an alias. */
const BY_SPELLING: ReadonlyMap<string, PropertySpec> = new Map(
  SPECS.flatMap((spec) => [spec.name, ...(spec.aliases ?? [])].map((spelling) => [spelling, spec] as const)),
);

/** The spec of a property name (the catalogue is the source of the names, so this never fails for a PropertyName). */
export function propertySpec(name: PropertyName): PropertySpec {
  return BY_SPELLING.get(name) as PropertySpec;
}

/** A property by its name or an alias; undefined for an unknown name. */
export function lookupProperty(spelling: string): PropertySpec | undefined {
  return BY_SPELLING.get(spelling);
}

/** `InputKinesisStream` → `input-kinesis-stream`: the kebab-case flag spelling. */
export function kebabCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function suggestion(spelling: string): string {
  const lower = spelling.toLowerCase().replace(/[-_]/g, '');
  for (const known of BY_SPELLING.keys()) {
    if (known.toLowerCase() === lower) return ` (did you mean ${known}?)`;
  }
  return '';
}

function entry(spec: PropertySpec, spelling: string, value: string, origin: string): PropertyEntry {
  return { name: spec.name as PropertyName, spelling, value: value.trim(), origin };
}

/** The catalogue's defaults, as the lowest layer. */
export function defaultsLayer(): PropertyLayer {
  const entries = SPECS.filter((spec) => spec.default !== undefined).map((spec) => entry(spec, spec.name, spec.default as string, 'default'));
  return { source: 'default', entries, problems: [], warnings: [] };
}

/** Environment variables named exactly like a property (or an alias). */
export function environmentLayer(env: NodeJS.ProcessEnv): PropertyLayer {
  const entries: PropertyEntry[] = [];
  for (const [spelling, spec] of BY_SPELLING) {
    const value = env[spelling];
    if (value !== undefined) entries.push(entry(spec, spelling, value, 'environment'));
  }
  return { source: 'environment', entries, problems: [], warnings: [] };
}

/**
 * Parses an ApplicationProperties JSON document. Accepted shapes:
 * - the managed-Flink format, `[{"PropertyGroupId": "FlinkApplicationProperties", "PropertyMap": {...}}, ...]`
 *   (other groups are ignored with a warning);
 * - one such group object, `{"PropertyGroupId": ..., "PropertyMap": {...}}`;
 * - a plain map, `{"InputKinesisStream": "trips", ...}`.
 * Values are strings; numbers and booleans are taken as their text; null means unset. Unknown
 * property names are warnings (a group may carry other applications' keys).
 * `origin` names the document in messages (`properties file ./app.json`).
 */
export function parseApplicationProperties(text: string, origin: string, source: PropertySource): PropertyLayer {
  const problems: string[] = [];
  const warnings: string[] = [];
  const entries: PropertyEntry[] = [];
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { source, entries, problems: [`${origin}: not valid JSON (${reason})`], warnings };
  }
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  const readMap = (map: unknown, where: string): void => {
    if (!isObject(map)) {
      problems.push(`${where}: expected an object of property names to string values, got ${jsonKind(map)}`);
      return;
    }
    for (const [spelling, raw] of Object.entries(map)) {
      const spec = lookupProperty(spelling);
      if (spec === undefined) {
        warnings.push(`${where}: unknown property "${spelling}" ignored${suggestion(spelling)}`);
        continue;
      }
      if (raw === null) continue;
      if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
        entries.push(entry(spec, spelling, String(raw), origin));
      } else {
        problems.push(`${spelling}: expected a string value, got ${jsonKind(raw)} (from ${origin})`);
      }
    }
  };
  const readGroup = (group: unknown, where: string): void => {
    if (!isObject(group) || typeof group.PropertyGroupId !== 'string') {
      problems.push(`${where}: expected {"PropertyGroupId": "...", "PropertyMap": {...}}, got ${jsonKind(group)}`);
      return;
    }
    if (group.PropertyGroupId !== PROPERTY_GROUP_ID) {
      warnings.push(`${origin}: property group "${group.PropertyGroupId}" ignored (only ${PROPERTY_GROUP_ID} is read)`);
      return;
    }
    readMap(group.PropertyMap, `${origin}, group ${PROPERTY_GROUP_ID}, PropertyMap`);
  };
  if (Array.isArray(document)) {
    document.forEach((group, index) => readGroup(group, `${origin}, element ${index}`));
    const found = document.some((group) => isObject(group) && group.PropertyGroupId === PROPERTY_GROUP_ID);
    if (!found && problems.length === 0) warnings.push(`${origin}: no property group "${PROPERTY_GROUP_ID}"; nothing read from it`);
  } else if (isObject(document) && 'PropertyGroupId' in document) {
    readGroup(document, origin);
  } else if (isObject(document)) {
    readMap(document, origin);
  } else {
    problems.push(`${origin}: expected a JSON array of property groups or an object of properties, got ${jsonKind(document)}`);
  }
  return { source, entries, problems, warnings };
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** The ApplicationProperties document in the environment variable APPLICATION_PROPERTIES_JSON, if set and non-empty. */
export function environmentJsonLayer(env: NodeJS.ProcessEnv): PropertyLayer {
  const text = env[APPLICATION_PROPERTIES_ENV];
  if (text === undefined || text.trim() === '') return { source: 'environment-json', entries: [], problems: [], warnings: [] };
  return parseApplicationProperties(text, `environment variable ${APPLICATION_PROPERTIES_ENV}`, 'environment-json');
}

/** The processor's command line, parsed. */
export interface ProcessorArgs {
  /** `--help` or `-h` was given. */
  readonly help: boolean;
  /** `--properties FILE`, if given. */
  readonly propertiesFile?: string;
  /** The property flags, in the order given. */
  readonly layer: PropertyLayer;
}

/** Flag spelling (`--InputKinesisStream`, `--input-kinesis-stream`, aliases likewise) to property. */
const FLAGS: ReadonlyMap<string, { readonly spec: PropertySpec; readonly spelling: string }> = new Map(
  [...BY_SPELLING].flatMap(([spelling, spec]) => [
    [`--${spelling}`, { spec, spelling }] as const,
    [`--${kebabCase(spelling)}`, { spec, spelling }] as const,
  ]),
);

/**
 * Parses the processor's arguments: `--help`/`-h`, `--properties FILE`, and one flag per property,
 * `--Name value`, `--Name=value`, or kebab-case `--name value` (aliases likewise). A boolean
 * property given without a value (`--OutputDiscarding` followed by another flag or nothing) is true.
 * A value that starts with `--` must use the `--Name=value` form. Throws UsageError for an unknown
 * flag, a stray argument, a missing value, or `--properties` given twice.
 */
export function parseProcessorArgs(argv: readonly string[]): ProcessorArgs {
  let help = false;
  let propertiesFile: string | undefined;
  const entries: PropertyEntry[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (property flags are --Name value or --Name=value)`);
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const next = argv[i + 1];
    const nextIsValue = next !== undefined && !next.startsWith('--');
    if (key === '--properties') {
      if (propertiesFile !== undefined) throw new UsageError('--properties given twice; merge the files into one');
      const file = inline ?? (nextIsValue ? next : undefined);
      if (file === undefined || file === '') throw new UsageError('--properties needs a file path');
      if (inline === undefined) i += 1;
      propertiesFile = file;
      continue;
    }
    const flag = FLAGS.get(key);
    if (flag === undefined) {
      const hint = suggestion(key.slice(2));
      throw new UsageError(`unknown flag "${key}"${hint}`);
    }
    let value: string;
    if (inline !== undefined) value = inline;
    else if (nextIsValue) {
      value = next;
      i += 1;
    } else if (flag.spec.type === 'boolean') value = 'true';
    else throw new UsageError(`flag ${key} needs a value (use ${key}=VALUE for a value that starts with --)`);
    entries.push(entry(flag.spec, flag.spelling, value, `flag ${key}`));
  }
  return { help, propertiesFile, layer: { source: 'flag', entries, problems: [], warnings: [] } };
}
