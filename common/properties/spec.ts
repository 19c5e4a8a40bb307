/**
 * What a runtime property is: its name (the original Flink application's names, so existing
 * deployments carry over), its type, its default and what it is for. Each connector declares its
 * own properties with this shape (`processor/sources/<name>/properties.ts`, `processor/sinks/<name>/properties.ts`);
 * the properties every run has are in `./shared.ts`. Nothing here imports the processor or CDK.
 */

/** The kinds of value a property takes. */
export const PROPERTY_TYPES = ['string', 'integer', 'number', 'boolean', 'enum'] as const;
/** A property's value type. */
export type PropertyType = (typeof PROPERTY_TYPES)[number];

/** One runtime property. */
export interface PropertySpec {
  /** The property name as written in the environment, the properties file and the CLI flag (`--Name`). */
  readonly name: string;
  /** What it is for, in a sentence (used in `--help`, the README and the CloudFormation parameter). */
  readonly description: string;
  /** The value type; numbers and booleans arrive as strings and are parsed. */
  readonly type: PropertyType;
  /** The default, as a string in the same form a user would write it; undefined means unset. */
  readonly default?: string;
  /** For `enum`: the accepted values (compared case-insensitively, normalised to this spelling). */
  readonly values?: readonly string[];
  /** For `integer`/`number`: the smallest accepted value. */
  readonly min?: number;
  /** For `integer`/`number`: the largest accepted value. */
  readonly max?: number;
  /** Other spellings accepted for the same property (e.g. the corrected spelling of a typo). */
  readonly aliases?: readonly string[];
  /**
   * The group it belongs to, for help output and the CloudFormation parameter groups: `Source` for
   * every source's properties, `<Name> sink` for a sink's, `Checkpoints` or `Operations` for the
   * shared ones.
   */
  readonly group: string;
}
