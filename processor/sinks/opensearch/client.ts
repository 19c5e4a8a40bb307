/**
 * The OpenSearch client of the sink: SigV4-signed (AwsSigv4Signer, with the default credential
 * chain unless credentials are given) for Amazon OpenSearch Service and Serverless endpoints,
 * plain HTTP(S) otherwise. The client never retries on its own: the sink's one retry layer does.
 */
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws';
import type { AwsSigning } from './endpoint.js';

/** AWS credentials as the signer takes them. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** How the client is built. */
export interface OpenSearchClientOptions {
  /** Where requests go (`http(s)://host[:port]`). */
  readonly node: string;
  /** Sign with SigV4 for this service and region; undefined: no signing. */
  readonly signing?: AwsSigning;
  /** Where credentials come from. @default the AWS SDK's default provider chain */
  readonly getCredentials?: () => Promise<SigningCredentials>;
  /** Per-request timeout, in ms. @default 60000 */
  readonly requestTimeoutMs?: number;
}

/** Builds a client that makes one attempt per call. */
export function createOpenSearchClient(options: OpenSearchClientOptions): Client {
  const base = { node: options.node, maxRetries: 0, requestTimeout: options.requestTimeoutMs ?? 60_000 };
  if (options.signing === undefined) return new Client(base);
  const signer = AwsSigv4Signer({
    region: options.signing.region,
    service: options.signing.service,
    ...(options.getCredentials ? { getCredentials: options.getCredentials } : {}),
  });
  return new Client({ ...signer, ...base });
}
