/**
 * The runtime properties every run has, whatever its source and sinks: the application, its
 * checkpoints and leases, the schema and operations. The connectors' own properties are declared in
 * their folders and listed through the connector registry (`processor/connectors.ts`); the whole
 * catalogue is `processor/config/catalogue.ts`.
 */
import type { PropertySpec } from './spec.js';

/** The shared properties, in the order help output and the CloudFormation parameters list them (after the connectors'). */
export const SHARED_PROPERTIES = [
  // --- Checkpoints ---------------------------------------------------------------------------
  { name: 'ApplicationName', group: 'Checkpoints', type: 'string', default: 'streaming-etl', description: 'Name of this application: the key of its checkpoints and the default Kafka group id.' },
  { name: 'CheckpointInterval', group: 'Checkpoints', type: 'integer', default: '60000', min: 100, description: 'Take a checkpoint (commit the output, store the positions) this often (ms).' },
  { name: 'CheckpointTable', group: 'Checkpoints', type: 'string', description: 'DynamoDB lease table holding leases and checkpoints (partition key "application", sort key "leaseKey", both strings). Without it, positions are not kept across restarts and only one task may run.' },
  { name: 'LeaseDuration', group: 'Checkpoints', type: 'integer', default: '10000', min: 1000, max: 600000, description: 'A shard lease not renewed for this long (ms) is taken by another task; a task that could not renew for four fifths of it stops.' },
  { name: 'LeaseRenewInterval', group: 'Checkpoints', type: 'integer', min: 100, max: 200000, description: 'How often a task renews its leases (ms); defaults to a third of LeaseDuration, and must be under half of it.' },
  { name: 'LeaseBalanceInterval', group: 'Checkpoints', type: 'integer', min: 100, max: 600000, description: 'How often a task lists the leases to take free or expired ones and to balance (ms); defaults to half of LeaseDuration.' },
  { name: 'MaxLeasesPerWorker', group: 'Checkpoints', type: 'integer', default: '98', min: 1, max: 98, description: 'Most shard leases one task holds (one checkpoint is one DynamoDB transaction of at most 100 items).' },
  // --- Operations ----------------------------------------------------------------------------
  { name: 'EventSchema', group: 'Operations', type: 'string', default: 'TripEvent', description: 'Schema of the events: a built-in name (TripEvent) or the path of a schema JSON file.' },
  { name: 'StatusInterval', group: 'Operations', type: 'integer', default: '10000', min: 100, description: 'Log a status line (and emit metrics) this often (ms).' },
  { name: 'MetricsNamespace', group: 'Operations', type: 'string', default: 'StreamingEtl', description: 'CloudWatch namespace of the embedded-metric-format metrics in the status lines.' },
  { name: 'HealthCheckPort', group: 'Operations', type: 'integer', default: '0', min: 0, max: 65535, description: 'Serve GET /health on this port (0: no health endpoint).' },
] as const satisfies readonly PropertySpec[];

/** The name of a shared property. */
export type SharedPropertyName = (typeof SHARED_PROPERTIES)[number]['name'];
