/**
 * Validating the resolved properties and building the typed ProcessorConfig. Every problem is
 * collected — types and ranges here, each connector's own rules in its `properties.ts` (names, URLs,
 * ARNs, pairs that go together, the partition template), the one-source and at-least-one-sink rules
 * over the registry (`../connectors.ts`), and the shared properties — and thrown as one ConfigError,
 * each naming the property, the value received and where it came from.
 */
import { ConfigError } from '../../common/errors.js';
import type { PropertySpec } from '../../common/properties/index.js';
import type { BuildContext, PropertyReader, SinkConnector, SourceConnector, TypedValue } from '../connector.js';
import { SINK_CONNECTORS, SOURCE_CONNECTORS } from '../connectors.js';
import { PROPERTY_SPECS } from './catalogue.js';
import type { PropertyName } from './catalogue.js';
import type { ResolvedProperties, ResolvedProperty } from './resolve.js';
import { propertySpec } from './sources.js';
import type { ProcessorConfig, SinkConfig, SourceConfig } from './types.js';

/** Options of buildConfig. */
export interface BuildConfigOptions {
  /**
   * The event schema's field names, when known: the partition template's fields are then checked
   * too. Without them only the template's syntax is checked (the S3 sink checks the fields when it
   * compiles the template against the loaded schema).
   */
  readonly fieldNames?: readonly string[];
  /**
   * AWS_REGION of the environment: the signing region of AWS_MSK_IAM for broker hosts that name
   * none (an MSK broker host names its region).
   */
  readonly awsRegion?: string;
}

/** Properties whose values are secrets: never shown in a message. */
const SECRET = /Password$/;

/** The typed configuration and the notes worth logging at start-up. */
export interface BuiltConfig {
  readonly config: ProcessorConfig;
  readonly warnings: readonly string[];
}

/** The registry's connectors, seen through the names of any property (each reads only its own). */
const SOURCES = SOURCE_CONNECTORS as readonly SourceConnector<SourceConfig, PropertyName>[];
const SINKS = SINK_CONNECTORS as readonly SinkConnector<SinkConfig, PropertyName>[];

/**
 * Validates resolved properties and builds the configuration. Throws one ConfigError listing every
 * problem, including those found while reading the sources (`resolved.problems`).
 */
export function buildConfig(resolved: ResolvedProperties, options: BuildConfigOptions = {}): BuiltConfig {
  const problems: string[] = [...resolved.problems];
  const warnings: string[] = [...resolved.warnings];
  const typed = new Map<PropertyName, TypedValue>();
  for (const [name, given] of resolved.values) {
    const result = parseTyped(propertySpec(name), given.value);
    if (typeof result === 'string') problems.push(`${given.spelling}: ${result}, got "${given.value}" (from ${given.origin})`);
    else typed.set(name, result.value);
  }
  const raw = (name: PropertyName): ResolvedProperty | undefined => resolved.values.get(name);
  const str = (name: PropertyName): string | undefined => typed.get(name) as string | undefined;
  const num = (name: PropertyName): number => (typed.get(name) as number | undefined) ?? 0;
  const problem = (name: PropertyName, expected: string): void => {
    const given = raw(name);
    if (given === undefined) problems.push(`${name}: ${expected}`);
    else if (SECRET.test(name)) problems.push(`${given.spelling} (value not shown) ${expected}`);
    else if (expected.startsWith('expected')) problems.push(`${given.spelling}: ${expected}, got "${given.value}" (from ${given.origin})`);
    else problems.push(`${given.spelling}="${given.value}" (from ${given.origin}) ${expected}`);
  };
  const shown = (name: PropertyName): string => {
    const given = raw(name);
    return given === undefined ? `${name} (not set)` : `${given.spelling}="${given.value}" (from ${given.origin})`;
  };

  const reader: PropertyReader<PropertyName> = { given: raw, typed: (name) => typed.get(name), str, num, problem, shown, warn: (text) => warnings.push(text) };
  const isOn = (name: PropertyName): boolean => (propertySpec(name).type === 'boolean' ? typed.get(name) === true : typed.has(name));
  const switchedOn = (connector: { readonly switches: readonly PropertyName[] }): boolean => connector.switches.some(isOn);

  // --- the one source ---------------------------------------------------------------------------
  const applicationName = str('ApplicationName') ?? 'streaming-etl';
  const context: BuildContext = { applicationName, fieldNames: options.fieldNames, ...(options.awsRegion !== undefined ? { awsRegion: options.awsRegion } : {}) };
  const selected = SOURCES.filter(switchedOn);
  let source: SourceConfig | undefined;
  if (selected.length > 1) {
    const named = selected.map((connector) => `${connector.label} ${connector.switches.filter((name) => raw(name) !== undefined).map(shown).join(' and ')}`);
    problems.push(`exactly one source is read, but ${selected.length === 2 ? 'both' : selected.length} are set: ${named.join(' and ')}; unset one of them`);
  } else if (selected.length === 0) {
    problems.push(`no source: set ${SOURCES.map((connector) => connector.hint).join(', or ')}; none of them is set`);
  } else {
    source = selected[0]?.build(reader, context);
    for (const other of SOURCES.filter((connector) => connector !== selected[0])) {
      for (const name of other.onlyForThisSource) {
        const given = raw(name);
        if (given !== undefined && given.from !== 'default') warnings.push(`${shown(name)} ignored: it applies to a ${other.label} source only`);
      }
    }
  }

  // --- the sinks ----------------------------------------------------------------------------------
  const sinks: SinkConfig[] = [];
  for (const connector of SINKS) {
    connector.check?.(reader, context);
    if (!switchedOn(connector)) continue;
    const sink = connector.build(reader, context);
    if (sink !== undefined) sinks.push(sink);
  }
  const untouched = (name: PropertyName): boolean => raw(name) === undefined || (propertySpec(name).type === 'boolean' && typed.get(name) === false);
  if (sinks.length === 0 && SINKS.every((connector) => connector.switches.every(untouched))) {
    const hints = [...SINKS].sort((a, b) => a.hint.place - b.hint.place).map((connector) => connector.hint.text);
    const booleans = SINKS.flatMap((connector) => connector.switches.filter((name) => propertySpec(name).type === 'boolean'));
    problems.push(`no sink: set at least one of ${hints.slice(0, -1).join(', ')}, or ${hints.at(-1)}; none is set${booleans.map((name) => ` and ${shown(name)}`).join('')}`);
  }
  warnIgnoredSinkProperties(resolved, warnings);

  // --- checkpoints and operations -----------------------------------------------------------------
  const checkpointTable = str('CheckpointTable');
  if (checkpointTable !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(checkpointTable)) {
    problem('CheckpointTable', 'expected a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."');
  }

  const leaseDuration = num('LeaseDuration');
  const renew = typed.get('LeaseRenewInterval') as number | undefined;
  if (renew !== undefined && renew * 2 >= leaseDuration) {
    problem('LeaseRenewInterval', `expected under half of LeaseDuration (${leaseDuration} ms), so that one missed renewal is not fatal`);
  }
  const balance = typed.get('LeaseBalanceInterval') as number | undefined;

  if (problems.length > 0) throw new ConfigError(problems);
  const config: ProcessorConfig = {
    applicationName,
    source: source as SourceConfig,
    sinks,
    checkpointIntervalMs: num('CheckpointInterval'),
    checkpointTable,
    leaseDurationMs: leaseDuration,
    ...(renew !== undefined ? { leaseRenewIntervalMs: renew } : {}),
    ...(balance !== undefined ? { leaseBalanceIntervalMs: balance } : {}),
    maxLeasesPerWorker: num('MaxLeasesPerWorker'),
    eventSchema: str('EventSchema') ?? 'TripEvent',
    statusIntervalMs: num('StatusInterval'),
    metricsNamespace: str('MetricsNamespace') ?? 'StreamingEtl',
    healthCheckPort: num('HealthCheckPort'),
    resolved: Object.fromEntries(
      PROPERTY_SPECS.flatMap((spec) => {
        const given = resolved.values.get(spec.name);
        return given === undefined ? [] : [[spec.name, { value: given.value, from: given.from }]];
      }),
    ),
  };
  return { config, warnings };
}

/** Parses one value by its spec's type: the typed value, or what was expected. Enum values are normalised to the catalogue's spelling. */
export function parseTyped(spec: PropertySpec, value: string): { value: TypedValue } | string {
  switch (spec.type) {
    case 'string':
      return { value };
    case 'boolean': {
      const lower = value.toLowerCase();
      if (lower === 'true' || lower === 'false') return { value: lower === 'true' };
      return 'expected true or false';
    }
    case 'enum': {
      const found = (spec.values ?? []).find((candidate) => candidate.toLowerCase() === value.toLowerCase());
      return found === undefined ? `expected one of ${(spec.values ?? []).join(', ')}` : { value: found };
    }
    case 'integer':
    case 'number': {
      const integer = spec.type === 'integer';
      const kind = integer ? 'an integer' : 'a number';
      const range =
        spec.min !== undefined && spec.max !== undefined
          ? ` from ${spec.min} to ${spec.max}`
          : spec.min !== undefined
            ? ` >= ${spec.min}`
            : spec.max !== undefined
              ? ` <= ${spec.max}`
              : '';
      const pattern = integer ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
      const parsed = Number(value);
      if (!pattern.test(value) || !Number.isFinite(parsed) || (integer && !Number.isSafeInteger(parsed))) return `expected ${kind}${range}`;
      if ((spec.min !== undefined && parsed < spec.min) || (spec.max !== undefined && parsed > spec.max)) return `expected ${kind}${range}`;
      return { value: parsed };
    }
  }
}

/** For each sink's property other than its main switch: that switch (its other properties do nothing without it). */
const SINK_SWITCHES: ReadonlyMap<PropertyName, PropertyName> = new Map(
  SINKS.flatMap((connector) => connector.properties.filter((spec) => spec.name !== connector.switches[0]).map((spec) => [spec.name, connector.switches[0]] as const)),
);

function warnIgnoredSinkProperties(resolved: ResolvedProperties, warnings: string[]): void {
  for (const [name, given] of resolved.values) {
    if (given.from === 'default') continue;
    const switchName = SINK_SWITCHES.get(name);
    if (switchName === undefined || resolved.values.has(switchName)) continue;
    warnings.push(`${given.spelling}="${given.value}" (from ${given.origin}) ignored: ${switchName} is not set`);
  }
}
