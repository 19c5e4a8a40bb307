/**
 * The property catalogue: every runtime property of the processor, derived from the connector
 * registry (`../connectors.ts`: each source's properties, then each sink's, in registry order) and
 * the shared properties (`common/properties/shared.ts`: checkpoints and operations). Read by the
 * property sources and validation here, `--help`, the README test, and the CDK stack (`lib/`),
 * which turns each entry into a CloudFormation parameter, in this order and these groups. Loads no
 * SDK.
 */
import { SHARED_PROPERTIES } from '../../common/properties/index.js';
import type { PropertySpec, SharedPropertyName } from '../../common/properties/index.js';
import type { PropertyNameOf } from '../connector.js';
import { SINK_CONNECTORS, SOURCE_CONNECTORS } from '../connectors.js';

/** The name of a runtime property. */
export type PropertyName =
  | PropertyNameOf<(typeof SOURCE_CONNECTORS)[number]>
  | PropertyNameOf<(typeof SINK_CONNECTORS)[number]>
  | SharedPropertyName;

/** A property of the catalogue. */
export type CatalogueSpec = PropertySpec & { readonly name: PropertyName };

/** Who declares a property: a connector (`source kinesis`, `sink s3`) or the shared set (`shared`). */
export type PropertyOwner = `source ${(typeof SOURCE_CONNECTORS)[number]['kind']}` | `sink ${(typeof SINK_CONNECTORS)[number]['kind']}` | 'shared';

/** The properties by who declares them, in catalogue order. */
export const PROPERTIES_BY_OWNER: readonly { readonly owner: PropertyOwner; readonly specs: readonly CatalogueSpec[] }[] = [
  ...SOURCE_CONNECTORS.map((connector) => ({ owner: `source ${connector.kind}` as const, specs: connector.properties })),
  ...SINK_CONNECTORS.map((connector) => ({ owner: `sink ${connector.kind}` as const, specs: connector.properties })),
  { owner: 'shared', specs: SHARED_PROPERTIES },
];

/** The catalogue, in the order help output and the CloudFormation parameters list them. */
export const PROPERTY_SPECS: readonly CatalogueSpec[] = PROPERTIES_BY_OWNER.flatMap((owned) => owned.specs);

/** All property names, in catalogue order. */
export const PROPERTY_NAMES: readonly PropertyName[] = PROPERTY_SPECS.map((spec) => spec.name);

