/**
 * Whether an endpoint is an Amazon OpenSearch Service domain (signed for service `es`) or an
 * OpenSearch Serverless collection (`aoss`), and the region to sign for. Any other endpoint is
 * plain HTTP(S) without signing.
 */
import { ConfigError } from '../../../common/errors.js';

/** How requests to an AWS-managed endpoint are signed. */
export interface AwsSigning {
  /** `es` for OpenSearch Service domains, `aoss` for OpenSearch Serverless. */
  readonly service: 'es' | 'aoss';
  readonly region: string;
}

const MANAGED = /^(?:[a-z0-9-]+\.)*?(?:([a-z]{2}(?:-[a-z]+)+-\d+)\.)?(es|aoss)\.amazonaws\.com(?:\.cn)?$/;

/**
 * The signing of an endpoint URL: undefined for an endpoint that is not AWS-managed. The region is
 * `region` when given, else the one in the host name (`search-d-x.eu-west-1.es.amazonaws.com`),
 * else `fallbackRegion` (the SDK chain's `AWS_REGION`). Throws ConfigError when a managed endpoint
 * has no region from any of them.
 */
export function awsSigningFor(endpoint: string, region?: string, fallbackRegion: string | undefined = process.env['AWS_REGION']): AwsSigning | undefined {
  const host = new URL(endpoint).hostname.toLowerCase();
  const match = MANAGED.exec(host);
  if (!match) return undefined;
  const service = match[2] as 'es' | 'aoss';
  const resolved = region ?? match[1] ?? fallbackRegion;
  if (resolved === undefined || resolved === '') {
    throw new ConfigError([`OutputElasticsearchEndpoint="${endpoint}" is an AWS endpoint (service ${service}) whose host names no region; set ElasticsearchRegion`]);
  }
  return { service, region: resolved };
}
