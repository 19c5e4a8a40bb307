/**
 * The AWS_MSK_IAM SASL mechanism of Amazon MSK, as a kafkajs custom authentication provider.
 *
 * After the SASL handshake names `AWS_MSK_IAM`, the client sends one SaslAuthenticate request whose
 * bytes are a JSON document: the version `2020_10_22`, the broker host, a user agent, the action
 * `kafka-cluster:Connect`, and the fields of a SigV4 query presign (service `kafka-cluster`, signed
 * header `host`, 900 s expiry) of `GET https://<host>/?Action=kafka-cluster%3AConnect`. The broker
 * answers with a JSON document holding `version` and `request-id`, or fails the request with
 * SASL_AUTHENTICATION_FAILED and a message. This is the format Amazon's aws-msk-iam-auth library
 * sends; the code here is our own.
 *
 * Credentials come from the AWS SDK's default provider chain (environment, SSO, profile, web
 * identity, ECS task role, EC2 instance role) and are fetched again before they expire. The signing
 * region is the one the broker host names (`….kafka.<region>.amazonaws.com`), else AWS_REGION.
 */
import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import kafkajs, { type AuthenticationProviderArgs, type Authenticator, type KafkaJSError, type Mechanism } from 'kafkajs';
import { ConfigError } from '../errors.js';
import { regionOfMskHost } from './msk-host.js';

export { regionOfMskHost };

/** The SASL mechanism name. */
export const MSK_IAM_MECHANISM = 'AWS_MSK_IAM';
/** The version of the authentication payload. */
export const MSK_IAM_PAYLOAD_VERSION = '2020_10_22';
/** The SigV4 service name of MSK's data plane. */
export const MSK_IAM_SERVICE = 'kafka-cluster';
/** The action the payload asks for. */
export const MSK_IAM_ACTION = 'kafka-cluster:Connect';
/** How long a signed payload is valid (seconds). */
export const MSK_IAM_EXPIRES_SECONDS = 900;
/** Credentials are fetched again when they expire within this many milliseconds. */
export const CREDENTIALS_REFRESH_MARGIN_MS = 5 * 60_000;

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** kafkajs's typings declare no constructor arguments; at run time it takes a message and `{ cause }` (non-retriable). */
const SaslAuthenticationError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string, options: { cause?: Error }) => KafkaJSError;
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** AWS credentials (the AWS SDK's AwsCredentialIdentity has this shape). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When temporary credentials stop working. */
  readonly expiration?: Date;
}

/** Where credentials come from. */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/** The authentication payload, field by field (the names are the JSON keys). */
export interface MskIamPayload {
  readonly version: string;
  readonly host: string;
  readonly 'user-agent': string;
  readonly action: string;
  readonly 'x-amz-algorithm': string;
  readonly 'x-amz-credential': string;
  readonly 'x-amz-date': string;
  readonly 'x-amz-security-token'?: string;
  readonly 'x-amz-signedheaders': string;
  readonly 'x-amz-expires': string;
  readonly 'x-amz-signature': string;
}

/** What {@link signMskIamPayload} signs. */
export interface MskIamSigningInput {
  /** The broker host name (no port), as the client connects to it. */
  readonly host: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** The signing time. */
  readonly now: Date;
  readonly userAgent: string;
}

/** `20201022T071500Z` */
function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** RFC 3986 percent-encoding, as SigV4 wants it (unreserved characters stay). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * The signed authentication payload for one broker host: a SigV4 presign of
 * `GET https://<host>/?Action=kafka-cluster%3AConnect` with the `host` header signed and the SHA-256
 * of an empty body.
 */
export function signMskIamPayload(input: MskIamSigningInput): MskIamPayload {
  const { credentials, region } = input;
  const host = input.host.toLowerCase();
  const date = amzDate(input.now);
  const day = date.slice(0, 8);
  const scope = `${day}/${region}/${MSK_IAM_SERVICE}/aws4_request`;
  const query: [string, string][] = [
    ['Action', MSK_IAM_ACTION],
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', date],
    ['X-Amz-Expires', String(MSK_IAM_EXPIRES_SECONDS)],
    ...(credentials.sessionToken ? [['X-Amz-Security-Token', credentials.sessionToken] as [string, string]] : []),
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const canonicalQuery = query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${host}`, '', 'host', EMPTY_SHA256].join('\n');
  const stringToSign = [ALGORITHM, date, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [region, MSK_IAM_SERVICE, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return {
    version: MSK_IAM_PAYLOAD_VERSION,
    host,
    'user-agent': input.userAgent,
    action: MSK_IAM_ACTION,
    'x-amz-algorithm': ALGORITHM,
    'x-amz-credential': `${credentials.accessKeyId}/${scope}`,
    'x-amz-date': date,
    ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
    'x-amz-signedheaders': 'host',
    'x-amz-expires': String(MSK_IAM_EXPIRES_SECONDS),
    'x-amz-signature': signature,
  };
}

/**
 * The signing region of a broker host: the one its name gives, else `fallback` (AWS_REGION). A
 * ConfigError naming `property` and the host when neither gives one.
 */
export function mskIamRegion(host: string, fallback: string | undefined, property: string): string {
  const region = regionOfMskHost(host) ?? (fallback?.trim() ? fallback.trim() : undefined);
  if (region === undefined) {
    throw new ConfigError([
      `${property}: broker host "${host}" names no AWS region (an MSK broker is …kafka.<region>.amazonaws.com) and AWS_REGION is not set; AWS_MSK_IAM signs for a region, so set AWS_REGION or use the MSK broker host names`,
    ]);
  }
  return region;
}

/**
 * A credentials provider that keeps what `source` returned until it is within `marginMs` of its
 * expiration (credentials without an expiration are kept), and shares one fetch between concurrent
 * callers. A failed fetch is not kept.
 */
export function refreshingCredentials(source: AwsCredentialsProvider, options: { readonly marginMs?: number; readonly now?: () => number } = {}): AwsCredentialsProvider {
  const marginMs = options.marginMs ?? CREDENTIALS_REFRESH_MARGIN_MS;
  const now = options.now ?? Date.now;
  let current: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  const fresh = (c: AwsCredentials): boolean => c.expiration === undefined || c.expiration.getTime() - now() > marginMs;
  return async () => {
    if (current !== undefined && fresh(current)) return current;
    pending ??= source()
      .then((c) => {
        current = c;
        return c;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/** Options of {@link mskIamMechanism}. */
export interface MskIamOptions {
  /** The region for broker hosts that name none (AWS_REGION). @default process.env.AWS_REGION */
  readonly region?: string;
  /** The property naming the brokers, for error messages. @default 'bootstrap servers' */
  readonly property?: string;
  /** @default the AWS SDK's default provider chain, refreshed before expiry */
  readonly credentials?: AwsCredentialsProvider;
  /** @default `streaming-etl node/<version>` */
  readonly userAgent?: string;
  /** The signing clock. @default the system clock */
  readonly now?: () => Date;
}

/** The encoded SASL bytes: a 4-byte big-endian length, then the bytes (kafkajs's BYTES encoding). */
function lengthPrefixed(data: Buffer): Buffer {
  const out = Buffer.alloc(4 + data.length);
  out.writeInt32BE(data.length, 0);
  data.copy(out, 4);
  return out;
}

/** What the broker answers on success. */
export interface MskIamServerResponse {
  readonly version?: string;
  readonly 'request-id'?: string;
}

/**
 * Parses the broker's answer (after the length prefix): a JSON object. Throws when it is empty or
 * not JSON — the Java client treats that as a failure too.
 */
export function parseMskIamResponse(bytes: Buffer): MskIamServerResponse {
  if (bytes.length === 0) throw new Error('the broker answered with an empty authentication response');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new Error(`the broker's authentication response is not JSON: ${JSON.stringify(bytes.toString('utf8').slice(0, 200))}`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`the broker's authentication response is not a JSON object: ${JSON.stringify(parsed)}`);
  return parsed as MskIamServerResponse;
}

/** The default credentials: the AWS SDK's default provider chain, fetched again before expiry. */
function defaultCredentials(): AwsCredentialsProvider {
  const chain = defaultProvider();
  return refreshingCredentials(async () => chain());
}

/**
 * The AWS_MSK_IAM mechanism for kafkajs's `sasl` setting. Each connection (and each
 * re-authentication the broker's session lifetime asks for) signs a new payload with current
 * credentials. Failures are KafkaJSSASLAuthenticationError (not retried by kafkajs) naming the
 * broker, with the cause.
 */
export function mskIamMechanism(options: MskIamOptions = {}): Mechanism {
  const credentials = options.credentials ?? defaultCredentials();
  const userAgent = options.userAgent ?? `streaming-etl node/${process.versions.node}`;
  const now = options.now ?? (() => new Date());
  const property = options.property ?? 'bootstrap servers';
  const fallbackRegion = options.region ?? process.env.AWS_REGION;
  return {
    mechanism: MSK_IAM_MECHANISM,
    authenticationProvider: ({ host, port, logger, saslAuthenticate }: AuthenticationProviderArgs): Authenticator => ({
      authenticate: async () => {
        const broker = `${host}:${port}`;
        const fail = (what: string, cause: unknown): never => {
          const reason = cause instanceof Error ? cause.message : String(cause);
          throw new SaslAuthenticationError(`SASL ${MSK_IAM_MECHANISM} authentication with broker ${broker} failed: ${what}: ${reason}`, { cause: cause as Error });
        };
        let region: string;
        try {
          region = mskIamRegion(host, fallbackRegion, property);
        } catch (error) {
          return fail('no signing region', error);
        }
        let identity: AwsCredentials;
        try {
          identity = await credentials();
        } catch (error) {
          return fail('could not get AWS credentials (default provider chain)', error);
        }
        const payload = signMskIamPayload({ host, region, credentials: identity, now: now(), userAgent });
        logger.debug('Authenticate with SASL AWS_MSK_IAM', { broker, region, credential: payload['x-amz-credential'] });
        let response: MskIamServerResponse | void;
        try {
          response = await saslAuthenticate<MskIamServerResponse>({
            request: { encode: () => lengthPrefixed(Buffer.from(JSON.stringify(payload), 'utf8')) },
            response: {
              decode: (raw: Buffer) => (raw.length >= 4 && raw.readInt32BE(0) > 0 ? raw.subarray(4, 4 + raw.readInt32BE(0)) : Buffer.alloc(0)),
              parse: parseMskIamResponse,
            },
          });
        } catch (error) {
          return fail('the broker refused it', error);
        }
        logger.debug('SASL AWS_MSK_IAM authentication successful', { broker, requestId: response?.['request-id'] });
      },
    }),
  };
}
