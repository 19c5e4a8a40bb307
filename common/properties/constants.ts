/**
 * Names shared by the processor's property reader (`processor/config`) and the CDK stack (`lib/`):
 * where the properties arrive from and the metrics the processor emits. The properties themselves
 * are declared by the connectors (`processor/connectors.ts`) and `./shared.ts`; the whole catalogue
 * is `processor/config/catalogue.ts`. Nothing here imports the processor or CDK.
 */

/** The managed-Flink property group id the processor reads from an ApplicationProperties document. */
export const PROPERTY_GROUP_ID = 'FlinkApplicationProperties';

/**
 * The environment variable that may hold a whole ApplicationProperties JSON document (in the cloud,
 * the SSM parameter is injected into the container through it).
 */
export const APPLICATION_PROPERTIES_ENV = 'APPLICATION_PROPERTIES_JSON';

/** The metric names the processor emits (embedded metric format), for the CloudWatch dashboard. */
export const PROCESSOR_METRICS = {
  eventsIn: 'EventsIn',
  eventsOut: 'EventsOut',
  eventsRejected: 'EventsRejected',
  millisBehindLatest: 'MillisBehindLatest',
  checkpointDuration: 'CheckpointDurationMs',
  checkpointsCompleted: 'CheckpointsCompleted',
} as const;
