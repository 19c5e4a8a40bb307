export { buildConfig, parseTyped } from './build.js';
export { PROPERTIES_BY_OWNER, PROPERTY_NAMES, PROPERTY_SPECS } from './catalogue.js';
export type { CatalogueSpec, PropertyName, PropertyOwner } from './catalogue.js';
export { parseIsoTimestamp } from './iso-timestamp.js';
export type { BuildConfigOptions, BuiltConfig } from './build.js';
export { PartitionTemplateError, PartitionValueError } from './errors.js';
export { PRECEDENCE_TEXT, processorHelp } from './help.js';
export { loadConfig } from './load.js';
export type { LoadConfigInput, LoadConfigResult } from './load.js';
export { HIVE_DEFAULT_PARTITION, JOB_START_FIELD, compilePartitionTemplate, escapePathName } from './partition-template.js';
export type { PartitionContext, PartitionTemplate } from './partition-template.js';
export { resolveProperties } from './resolve.js';
export type { ResolvedProperties, ResolvedProperty } from './resolve.js';
export {
  PROPERTY_SOURCES,
  defaultsLayer,
  environmentJsonLayer,
  environmentLayer,
  kebabCase,
  lookupProperty,
  parseApplicationProperties,
  parseProcessorArgs,
  propertySpec,
} from './sources.js';
export type { ProcessorArgs, PropertyEntry, PropertyLayer, PropertySource } from './sources.js';
export type {
  DiscardSinkConfig,
  InitialPosition,
  KafkaCompression,
  KafkaDeliveryGuarantee,
  KafkaSecurity,
  KafkaSinkConfig,
  KafkaSourceConfig,
  KafkaStartingPosition,
  KinesisSinkConfig,
  KinesisSourceConfig,
  OpenSearchSinkConfig,
  ProcessorConfig,
  S3SinkConfig,
  SinkConfig,
  SourceConfig,
} from './types.js';
