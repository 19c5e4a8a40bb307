export { APPLICATION_PROPERTIES_ENV, PROCESSOR_METRICS, PROPERTY_GROUP_ID } from './constants.js';
export { SHARED_PROPERTIES } from './shared.js';
export type { SharedPropertyName } from './shared.js';
export { PROPERTY_TYPES } from './spec.js';
export type { PropertySpec, PropertyType } from './spec.js';
