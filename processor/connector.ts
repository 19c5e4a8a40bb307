/**
 * What a connector is: the contract every folder under `sources/` and `sinks/` fulfils in its
 * `properties.ts`, and that the registry (`./connectors.ts`) lists. A connector declares
 *  - its runtime properties (`PropertySpec`s: names, types, defaults, help text);
 *  - which of them switch it on, and how to say so in the "no source"/"no sink" messages;
 *  - `build`: its typed configuration from the resolved values, reporting every problem through
 *    the reader (which names the property, the value given and where it came from);
 *  - `create`: the running source or sink, from that configuration.
 * `properties.ts` stays import-light (no SDK, no client library) because the CDK stack and `--help`
 * load it through the catalogue: `create` imports the connector's implementation only when called.
 * Only types are imported here.
 */
import type { Logger } from '../common/log.js';
import type { PropertySpec } from '../common/properties/index.js';
import type { LeaseTimings } from './checkpoint/lease-manager.js';
import type { LeaseTable } from './checkpoint/lease-table.js';
import type { ResolvedProperty } from './config/resolve.js';
import type { ProcessorConfig } from './config/types.js';
import type { EventSchema } from './formats/types.js';
import type { Sink } from './lifecycle.js';
import type { Source } from './sources/types.js';
import type { BodyScanner } from './sources/kinesis/get-records.js';

/** A property's value once parsed by its type. */
export type TypedValue = string | number | boolean;

/**
 * The resolved values of a connector's properties, and where to report what is wrong with them.
 * Every value has been parsed by its spec's type already (a value that did not parse was reported
 * and reads as unset here).
 */
export interface PropertyReader<N extends string> {
  /** The value as given (spelling, text, origin), default included; undefined when unset. */
  given(name: N): ResolvedProperty | undefined;
  /** The parsed value; undefined when unset or not parsed. */
  typed(name: N): TypedValue | undefined;
  /** A string (or enum) value; undefined when unset. */
  str(name: N): string | undefined;
  /** A number; 0 when unset. */
  num(name: N): number;
  /**
   * Reports a problem with a property. `expected` starting with "expected" reads
   * `Name: expected …, got "value" (from origin)`; anything else `Name="value" (from origin) …`;
   * for an unset property, `Name: …`.
   */
  problem(name: N, expected: string): void;
  /** `Name="value" (from origin)`, or `Name (not set)`, for messages. */
  shown(name: N): string;
  /** A note for the start-up log that does not stop the run. */
  warn(text: string): void;
}

/** What building a connector's configuration may use besides its own properties. */
export interface BuildContext {
  /** The ApplicationName property (the Kafka source's default group id). */
  readonly applicationName: string;
  /** The event schema's field names, when known (then field-naming properties are checked too). */
  readonly fieldNames?: readonly string[];
  /** AWS_REGION of the environment, when set (the Kafka connectors' AWS_MSK_IAM signing region). */
  readonly awsRegion?: string;
}

/** What every connector may use when it is created. */
export interface ConnectorContext {
  readonly config: ProcessorConfig;
  readonly schema: EventSchema;
  readonly log: Logger;
  readonly jobStartMs: number;
  readonly leases: LeaseTable;
  readonly timings: LeaseTimings;
  readonly shardDiscoveryIntervalMs?: number;
  /**
   * Set when the only sink reads Kinesis response bodies natively (formats/native.ts): the Kinesis
   * source then hands bodies over unparsed.
   */
  readonly kinesisBodyScanner?: BodyScanner;
}

/** A connector's typed configuration: a `kind` naming the connector, and its settings. */
export interface ConnectorConfig {
  readonly kind: string;
}

/** What sources and sinks declare alike. */
interface ConnectorBase<C extends ConnectorConfig, N extends string> {
  /** The `kind` of its configuration, unique among the sources (or among the sinks). */
  readonly kind: C['kind'];
  /** Its runtime properties, in the order help output and the CloudFormation parameters list them. */
  readonly properties: readonly (PropertySpec & { readonly name: N })[];
  /**
   * The properties that switch it on: a boolean one when true, any other once set. For a sink, the
   * first is the main one: its other properties are ignored, with a warning, while that is unset.
   */
  readonly switches: readonly [N, ...N[]];
  /**
   * Its typed configuration, or undefined when a problem was reported. Called only when it is
   * switched on.
   */
  build(values: PropertyReader<N>, context: BuildContext): C | undefined;
}

/** A source: exactly one is switched on in a run. */
export interface SourceConnector<C extends ConnectorConfig, N extends string = string> extends ConnectorBase<C, N> {
  /** Its name in messages: `Kinesis` (… `it applies to a Kinesis source only`). */
  readonly label: string;
  /** How to switch it on, for the "no source" message: `InputKinesisStream (a Kinesis stream name or ARN)`. */
  readonly hint: string;
  /** Properties that are a warning when given (other than by default) while another source is read. */
  readonly onlyForThisSource: readonly N[];
  /** Creates the source (importing its implementation only now). */
  create(config: C, context: ConnectorContext): Promise<Source>;
}

/** A sink: any number are switched on, at least one. */
export interface SinkConnector<C extends ConnectorConfig, N extends string = string> extends ConnectorBase<C, N> {
  /**
   * How to switch it on, for the "no sink" message (`OutputBucket`), and its place in that
   * message's list (the message predates the registry; the places keep its wording).
   */
  readonly hint: { readonly text: string; readonly place: number };
  /** Checks made whether or not the sink is switched on (the S3 sink's partition template). */
  check?(values: PropertyReader<N>, context: BuildContext): void;
  /** Creates the sink (importing its implementation only now). */
  create(config: C, context: ConnectorContext): Promise<Sink>;
}

/** The configuration type a connector builds. */
export type ConfigOf<T extends { build(...args: never[]): unknown }> = NonNullable<ReturnType<T['build']>>;

/** The property names a connector declares. */
export type PropertyNameOf<T extends { readonly properties: readonly { readonly name: string }[] }> = T['properties'][number]['name'];
