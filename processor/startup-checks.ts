/**
 * Checks made once at start-up, before anything is read, that turn a configuration the processor
 * cannot run with into a ConfigError (exit 2 naming the property, the value and the reason)
 * instead of a failure later (a restart loop on ECS): the event schema loads, the partition
 * template compiles against its fields, and the output bucket exists and can be reached.
 */
import { withDeadline } from '../common/deadline.js';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError, EtlError } from '../common/errors.js';
import { retry } from '../common/retry.js';
import { PartitionTemplateError } from './config/errors.js';
import { compilePartitionTemplate } from './config/partition-template.js';
import type { ProcessorConfig, S3SinkConfig } from './config/types.js';
import { SchemaError } from './formats/errors.js';
import { loadSchema } from './formats/schema.js';
import type { EventSchema } from './formats/types.js';

/** `Name` "value" (from origin), as every configuration problem starts. */
function given(config: ProcessorConfig, name: string): string {
  const resolved = config.resolved[name];
  return resolved ? `${name} "${resolved.value}" (from ${resolved.from})` : name;
}

/** Loads the event schema; a bad one is a ConfigError naming `EventSchema`. */
export async function loadEventSchema(config: ProcessorConfig): Promise<EventSchema> {
  try {
    return await loadSchema(config.eventSchema);
  } catch (error) {
    if (!(error instanceof SchemaError)) throw error;
    throw new ConfigError([`${given(config, 'EventSchema')}: ${error.problems.join('; ')}`], { cause: error });
  }
}

/** Compiles the S3 sink's partition template against the schema's fields; an unknown field is a ConfigError naming `OutputPartitionTemplate`. */
export function checkPartitionTemplate(config: ProcessorConfig, schema: EventSchema): void {
  const s3 = config.sinks.find((s): s is S3SinkConfig => s.kind === 's3');
  if (!s3) return;
  try {
    compilePartitionTemplate(s3.partitionTemplate, schema.fields.map((f) => f.name));
  } catch (error) {
    if (!(error instanceof PartitionTemplateError)) throw error;
    throw new ConfigError([`${given(config, 'OutputPartitionTemplate')}: ${error.problem} (at position ${error.position}; schema ${schema.name})`], { cause: error });
  }
}

/**
 * HeadBucket on the output bucket. A bucket that does not exist (404) or that this identity may
 * not use (403) is a ConfigError naming `OutputBucket`; other failures are retried, then thrown
 * as an ordinary error (exit 1: the service may come back).
 */
export async function checkOutputBucket(config: ProcessorConfig, client: S3Client): Promise<void> {
  const s3 = config.sinks.find((s): s is S3SinkConfig => s.kind === 's3');
  if (!s3) return;
  const status = await retry(
    async (bail) => {
      try {
        await withDeadline(30_000, undefined, (abortSignal) => client.send(new HeadBucketCommand({ Bucket: s3.bucket }), { abortSignal }));
        return 200;
      } catch (error) {
        const code = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (code === 404 || code === 403) return code;
        if (code !== undefined && code >= 400 && code < 500) bail(error);
        throw error;
      }
    },
    { maxAttempts: 3 },
  ).catch((error: unknown) => {
    // Not a configuration problem (the network, the service): exit 1, and the orchestrator retries.
    throw new EtlError(`OutputBucket: bucket "${s3.bucket}" could not be checked (HeadBucket)`, { cause: error });
  });
  if (status === 404) throw new ConfigError([`${given(config, 'OutputBucket')}: bucket "${s3.bucket}" does not exist (HeadBucket answered 404)`]);
  if (status === 403) throw new ConfigError([`${given(config, 'OutputBucket')}: access to bucket "${s3.bucket}" is denied (HeadBucket answered 403)`]);
}
