/**
 * Configuration shared by every AWS SDK client we create. Endpoints and credentials come the
 * standard way: the SDK's default provider chain and the `AWS_ENDPOINT_URL_<SERVICE>` variables,
 * so the same binaries run against AWS and against the embedded local services. What the SDK does
 * not read by itself is read here, once: `AWS_S3_FORCE_PATH_STYLE` (path-style S3 addressing,
 * needed by local S3 servers) and an explicit endpoint/region passed by a flag or property.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Options every client factory accepts. */
export interface AwsClientOptions {
  /** The region; falls back to the SDK's chain (AWS_REGION, the profile, the instance metadata). */
  readonly region?: string;
  /** An explicit endpoint URL; falls back to `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL`. */
  readonly endpoint?: string;
  /** Concurrent sockets per client. @default 64 */
  readonly maxSockets?: number;
}

/** The HTTP/1.1 request handler every client uses (kinesalite and s3rver speak HTTP/1.1 only). */
export function httpHandler(maxSockets = 64): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    connectionTimeout: 10_000,
    // A request with no response for this long fails (it used to only log a warning), so a
    // service that never answers cannot hang a caller; callers retry it.
    requestTimeout: 120_000,
    throwOnRequestTimeout: true,
  });
}

/** The common part of a client's configuration. */
export function baseClientConfig(options: AwsClientOptions = {}): {
  region?: string;
  endpoint?: string;
  requestHandler: NodeHttpHandler;
  maxAttempts: number;
} {
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    requestHandler: httpHandler(options.maxSockets),
    // One retry layer: ours (common/retry.ts, and the PutRecords writer's per-entry retries). With
    // the SDK's own retries as well, a failing call was tried up to 40 times.
    maxAttempts: 1,
  };
}

/** Whether S3 requests use path-style addressing (`AWS_S3_FORCE_PATH_STYLE=true`). */
export function s3ForcePathStyle(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env.AWS_S3_FORCE_PATH_STYLE ?? '');
}
