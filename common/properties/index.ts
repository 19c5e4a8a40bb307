export {
  APPLICATION_PROPERTIES_ENV,
  DEFAULT_PARTITION_TEMPLATE,
  PROCESSOR_METRICS,
  PROPERTY_GROUP_ID,
  PROPERTY_NAMES,
  PROPERTY_SPECS,
  PROPERTY_TYPES,
} from './catalogue.js';
export type { PropertyName, PropertySpec, PropertyType } from './catalogue.js';
