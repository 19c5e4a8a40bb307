/**
 * The AWS_MSK_IAM payload (common/kafka/msk-iam.ts): with fixed credentials and a fixed clock every
 * field is checked; the signature is recomputed by a SigV4 written from scratch here (byte-wise
 * percent-encoding, Node crypto) acting as the broker's verifier, and checked again against the
 * AWS SDK's own SigV4 presigner (@smithy/signature-v4); changing any one field makes the verifier
 * reject the payload. Also: the signing region (host name, AWS_REGION, an error naming the
 * property), credentials refreshed before expiry, the default provider chain, and the SASL exchange
 * as kafkajs drives it (bytes sent, broker answer parsed, a refusal reported with the broker).
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AuthenticationProviderArgs, Logger as KafkaLogger } from 'kafkajs';
import { ConfigError } from '../../common/errors.js';
import {
  mskIamMechanism,
  mskIamRegion,
  parseMskIamResponse,
  refreshingCredentials,
  regionOfMskHost,
  signMskIamPayload,
  type AwsCredentials,
  type MskIamPayload,
} from '../../common/kafka/msk-iam.js';

const HOST = 'b-1.demo-cluster.abc123.c2.kafka.eu-west-1.amazonaws.com';
const NOW = new Date('2020-10-22T07:15:09.123Z');
const CREDENTIALS: AwsCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  // '/', '+' and '=' must be percent-encoded in the canonical query.
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE/token+with=specials',
};
const USER_AGENT = 'streaming-etl-test';

/** Percent-encoding byte by byte: A-Z a-z 0-9 - _ . ~ stay, everything else is %XX (upper case). */
function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const sha256Hex = (data: string): string => createHash('sha256').update(data).digest('hex');
const hmacOf = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * What a broker does with the payload: rebuild the presigned request from the fields, recompute the
 * SigV4 signature with the secret key, and check the fixed fields. Returns the problems (none: valid).
 */
function verify(payload: Record<string, string | undefined>, secretAccessKey: string, brokerHost: string): string[] {
  const problems: string[] = [];
  if (payload.version !== '2020_10_22') problems.push('version');
  if (payload.host !== brokerHost) problems.push('host is not the broker');
  if (payload.action !== 'kafka-cluster:Connect') problems.push('action');
  if (payload['x-amz-algorithm'] !== 'AWS4-HMAC-SHA256') problems.push('algorithm');
  if (payload['x-amz-signedheaders'] !== 'host') problems.push('signed headers');
  if (Number(payload['x-amz-expires']) > 900) problems.push('expiry over 900 s');
  const [, day, region, service, terminator] = (payload['x-amz-credential'] ?? '').split('/');
  const date = payload['x-amz-date'] ?? '';
  if (!/^\d{8}T\d{6}Z$/.test(date) || day !== date.slice(0, 8)) problems.push('credential date');
  if (service !== 'kafka-cluster' || terminator !== 'aws4_request') problems.push('credential scope');
  const params: [string, string | undefined][] = [
    ['Action', payload.action],
    ['X-Amz-Algorithm', payload['x-amz-algorithm']],
    ['X-Amz-Credential', payload['x-amz-credential']],
    ['X-Amz-Date', date],
    ['X-Amz-Expires', payload['x-amz-expires']],
    ['X-Amz-Security-Token', payload['x-amz-security-token']],
    ['X-Amz-SignedHeaders', payload['x-amz-signedheaders']],
  ];
  const query = params
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
    .sort()
    .join('&');
  const canonical = `GET\n/\n${query}\nhost:${payload.host ?? ''}\n\nhost\n${sha256Hex('')}`;
  const toSign = `AWS4-HMAC-SHA256\n${date}\n${day}/${region}/${service}/${terminator}\n${sha256Hex(canonical)}`;
  const key = [day ?? '', region ?? '', service ?? '', 'aws4_request'].reduce<Buffer | string>((k, part) => hmacOf(k, part), `AWS4${secretAccessKey}`);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  if (payload['x-amz-signature'] !== signature) problems.push('signature');
  return problems;
}

/** A SHA-256 (or HMAC-SHA-256 with a secret) in the shape the AWS SDK's signer takes. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const asBytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
class NodeSha256 {
  readonly #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', asBytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(asBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
}

const payload = signMskIamPayload({ host: HOST, region: 'eu-west-1', credentials: CREDENTIALS, now: NOW, userAgent: USER_AGENT });

describe('the AWS_MSK_IAM payload', () => {
  test('every field, with fixed credentials and clock', () => {
    const { 'x-amz-signature': signature, ...rest } = payload;
    assert.deepEqual(rest, {
      version: '2020_10_22',
      host: HOST,
      'user-agent': USER_AGENT,
      action: 'kafka-cluster:Connect',
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
      'x-amz-credential': 'AKIDEXAMPLE/20201022/eu-west-1/kafka-cluster/aws4_request',
      'x-amz-date': '20201022T071509Z',
      'x-amz-security-token': CREDENTIALS.sessionToken,
      'x-amz-signedheaders': 'host',
      'x-amz-expires': '900',
    });
    assert.match(signature, /^[0-9a-f]{64}$/);
    assert.deepEqual(Object.keys(payload).sort(), [
      'action', 'host', 'user-agent', 'version', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires', 'x-amz-security-token', 'x-amz-signature', 'x-amz-signedheaders',
    ]);
  });

  test('the signature is the one a from-scratch SigV4 verifier computes', () => {
    assert.deepEqual(verify({ ...payload }, CREDENTIALS.secretAccessKey, HOST), []);
    assert.deepEqual(verify({ ...payload }, 'another-secret', HOST), ['signature'], 'the wrong secret does not verify');
  });

  test('the signature is the one the AWS SDK\'s SigV4 presigner computes for the same request', async () => {
    const signer = new SignatureV4({ service: 'kafka-cluster', region: 'eu-west-1', credentials: CREDENTIALS, sha256: NodeSha256 });
    const presigned = await signer.presign(
      { method: 'GET', protocol: 'https:', hostname: HOST, path: '/', query: { Action: 'kafka-cluster:Connect' }, headers: { host: HOST } },
      { signingDate: NOW, expiresIn: 900 },
    );
    const q = presigned.query as Record<string, string>;
    assert.equal(q['X-Amz-Signature'], payload['x-amz-signature']);
    assert.equal(q['X-Amz-Credential'], payload['x-amz-credential']);
    assert.equal(q['X-Amz-Date'], payload['x-amz-date']);
    assert.equal(q['X-Amz-Security-Token'], payload['x-amz-security-token']);
    assert.equal(q['X-Amz-SignedHeaders'], payload['x-amz-signedheaders']);
    // Without a session token too.
    const noToken = { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: CREDENTIALS.secretAccessKey };
    const plain = signMskIamPayload({ host: HOST, region: 'eu-west-1', credentials: noToken, now: NOW, userAgent: USER_AGENT });
    assert.equal('x-amz-security-token' in plain, false);
    const presignedPlain = await new SignatureV4({ service: 'kafka-cluster', region: 'eu-west-1', credentials: noToken, sha256: NodeSha256 }).presign(
      { method: 'GET', protocol: 'https:', hostname: HOST, path: '/', query: { Action: 'kafka-cluster:Connect' }, headers: { host: HOST } },
      { signingDate: NOW, expiresIn: 900 },
    );
    assert.equal((presignedPlain.query as Record<string, string>)['X-Amz-Signature'], plain['x-amz-signature']);
    assert.deepEqual(verify({ ...plain }, CREDENTIALS.secretAccessKey, HOST), []);
  });

  test('changing any one field makes the payload fail verification', () => {
    const changes: Record<keyof MskIamPayload, string> = {
      version: '2020_10_21',
      host: HOST.replace('b-1', 'b-2'),
      'user-agent': '',
      action: 'kafka-cluster:DescribeCluster',
      'x-amz-algorithm': 'AWS4-HMAC-SHA512',
      'x-amz-credential': 'AKIDEXAMPLE/20201022/eu-west-2/kafka-cluster/aws4_request',
      'x-amz-date': '20201022T071510Z',
      'x-amz-security-token': `${CREDENTIALS.sessionToken ?? ''}x`,
      'x-amz-signedheaders': 'host;x-amz-date',
      'x-amz-expires': '899',
      'x-amz-signature': payload['x-amz-signature'].replace(/^./, (c) => (c === '0' ? '1' : '0')),
    };
    for (const [field, value] of Object.entries(changes) as [keyof MskIamPayload, string][]) {
      if (field === 'user-agent') continue; // informational, not signed (as in Amazon's clients)
      const changed = { ...payload, [field]: value };
      assert.notDeepEqual(verify(changed, CREDENTIALS.secretAccessKey, HOST), [], `${field} changed to ${value} still verifies`);
    }
    // Dropping the session token invalidates the signature too.
    const { 'x-amz-security-token': _token, ...withoutToken } = payload;
    assert.deepEqual(verify(withoutToken, CREDENTIALS.secretAccessKey, HOST), ['signature']);
  });

  test('the signature depends on the clock, the region, the host and the keys', () => {
    const base = { host: HOST, region: 'eu-west-1', credentials: CREDENTIALS, now: NOW, userAgent: USER_AGENT };
    const signatures = new Set([
      payload['x-amz-signature'],
      signMskIamPayload({ ...base, now: new Date(NOW.getTime() + 1000) })['x-amz-signature'],
      signMskIamPayload({ ...base, region: 'us-east-1' })['x-amz-signature'],
      signMskIamPayload({ ...base, host: 'b-2.demo-cluster.abc123.c2.kafka.eu-west-1.amazonaws.com' })['x-amz-signature'],
      signMskIamPayload({ ...base, credentials: { ...CREDENTIALS, secretAccessKey: 'x' } })['x-amz-signature'],
    ]);
    assert.equal(signatures.size, 5);
    // Same inputs, same payload: nothing random.
    assert.deepEqual(signMskIamPayload(base), payload);
  });
});

describe('the signing region', () => {
  test('comes from an MSK broker host name', () => {
    assert.equal(regionOfMskHost(HOST), 'eu-west-1');
    assert.equal(regionOfMskHost('boot-abc.c3.kafka-serverless.us-east-2.amazonaws.com'), 'us-east-2');
    assert.equal(regionOfMskHost('b-2.c.x.c1.kafka.cn-north-1.amazonaws.com.cn'), 'cn-north-1');
    assert.equal(regionOfMskHost('b-1.demo.kafka.internal'), undefined);
    assert.equal(regionOfMskHost('localhost'), undefined);
  });

  test('else AWS_REGION; with neither, a ConfigError naming the property and the host', () => {
    assert.equal(mskIamRegion(HOST, 'us-east-1', 'InputKafkaBootstrapServers'), 'eu-west-1', 'the host wins');
    assert.equal(mskIamRegion('kafka.internal', 'us-east-1', 'InputKafkaBootstrapServers'), 'us-east-1');
    assert.throws(
      () => mskIamRegion('kafka.internal', undefined, 'OutputKafkaBootstrapServers'),
      (error: unknown) => error instanceof ConfigError && /^OutputKafkaBootstrapServers: broker host "kafka.internal" names no AWS region .* AWS_REGION is not set/.test(error.problems[0] ?? ''),
    );
    assert.throws(() => mskIamRegion('kafka.internal', '  ', 'X'), ConfigError);
  });
});

describe('credentials', () => {
  test('kept until five minutes before they expire, then fetched again; one fetch for concurrent callers; a failure is not kept', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    let fetches = 0;
    let failNext = false;
    const source = async (): Promise<AwsCredentials> => {
      fetches += 1;
      await Promise.resolve();
      if (failNext) {
        failNext = false;
        throw new Error('credentials endpoint unreachable');
      }
      return { accessKeyId: `AKID${fetches}`, secretAccessKey: 's', expiration: new Date(clock + 60 * 60_000) };
    };
    const provider = refreshingCredentials(source, { now: () => clock });
    const [a, b] = await Promise.all([provider(), provider()]);
    assert.equal(fetches, 1);
    assert.equal(a, b);
    clock += 54 * 60_000; // 6 minutes left
    assert.equal((await provider()).accessKeyId, 'AKID1');
    clock += 2 * 60_000; // 4 minutes left: refresh
    failNext = true;
    await assert.rejects(provider(), /credentials endpoint unreachable/);
    assert.equal((await provider()).accessKeyId, 'AKID3');
    assert.equal(fetches, 3);
    // Credentials without an expiration are kept.
    let staticFetches = 0;
    const fixed = refreshingCredentials(async () => ({ accessKeyId: `K${(staticFetches += 1)}`, secretAccessKey: 's' }));
    await fixed();
    await fixed();
    assert.equal(staticFetches, 1);
  });
});

/** The SASL exchange as kafkajs drives it: the authenticator gets saslAuthenticate, which encodes our request and decodes the broker's bytes. */
async function exchange(mechanism: ReturnType<typeof mskIamMechanism>, host: string, answer: (sent: Buffer) => Buffer | Error): Promise<{ sent: Buffer; result: unknown }> {
  let sent: Buffer = Buffer.alloc(0);
  const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, namespace: () => logger, setLogLevel: () => undefined } as unknown as KafkaLogger;
  const saslAuthenticate = (async ({ request, response }: { request: { encode: () => Buffer | Promise<Buffer> }; response?: { decode: (b: Buffer) => Buffer | Promise<Buffer>; parse: (b: Buffer) => unknown } }) => {
    sent = await request.encode();
    const reply = answer(sent);
    if (reply instanceof Error) throw reply;
    return response ? response.parse(await response.decode(reply)) : undefined;
  }) as AuthenticationProviderArgs['saslAuthenticate'];
  const result: unknown = await mechanism.authenticationProvider({ host, port: 9098, logger, saslAuthenticate }).authenticate();
  return { sent, result };
}

const bytes = (text: string): Buffer => {
  const body = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
};

describe('the SASL exchange', () => {
  test('sends the length-prefixed JSON payload and accepts the broker\'s JSON answer', async () => {
    const mechanism = mskIamMechanism({ credentials: async () => CREDENTIALS, now: () => NOW, userAgent: USER_AGENT });
    assert.equal(mechanism.mechanism, 'AWS_MSK_IAM');
    const { sent } = await exchange(mechanism, HOST, () => bytes('{"version":"2020_10_22","request-id":"8c5b2a3e"}'));
    assert.equal(sent.readInt32BE(0), sent.length - 4);
    assert.deepEqual(JSON.parse(sent.subarray(4).toString('utf8')), payload);
  });

  test('the broker\'s refusal, an empty or non-JSON answer, and missing credentials are errors naming the broker', async () => {
    const mechanism = mskIamMechanism({ credentials: async () => CREDENTIALS, now: () => NOW });
    await assert.rejects(exchange(mechanism, HOST, () => new Error('[SaslAuthenticate] Access denied')), (error: Error) => {
      assert.equal(error.name, 'KafkaJSSASLAuthenticationError');
      assert.match(error.message, new RegExp(`SASL AWS_MSK_IAM authentication with broker ${HOST}:9098 failed: the broker refused it: \\[SaslAuthenticate\\] Access denied`));
      assert.equal((error as { retriable?: boolean }).retriable, false);
      return true;
    });
    await assert.rejects(exchange(mechanism, HOST, () => bytes('')), /the broker refused it: the broker answered with an empty authentication response/);
    await assert.rejects(exchange(mechanism, HOST, () => bytes('<html>')), /authentication response is not JSON/);
    const noCredentials = mskIamMechanism({ credentials: () => Promise.reject(new Error('Could not load credentials from any providers')) });
    await assert.rejects(exchange(noCredentials, HOST, () => bytes('{}')), /could not get AWS credentials \(default provider chain\): Could not load credentials from any providers/);
    const noRegion = mskIamMechanism({ credentials: async () => CREDENTIALS, region: '', property: 'InputKafkaBootstrapServers' });
    await assert.rejects(exchange(noRegion, 'kafka.internal', () => bytes('{}')), /no signing region: invalid configuration: InputKafkaBootstrapServers: broker host "kafka.internal" names no AWS region/);
  });

  test('uses the AWS SDK default provider chain (here: the environment) when no credentials are given', async () => {
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENV';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-from-env';
    process.env.AWS_SESSION_TOKEN = 'token-from-env';
    try {
      const { sent } = await exchange(mskIamMechanism({ now: () => NOW }), HOST, () => bytes('{"version":"2020_10_22","request-id":"r"}'));
      const fromEnv = JSON.parse(sent.subarray(4).toString('utf8')) as Record<string, string>;
      assert.equal(fromEnv['x-amz-credential'], 'AKIDFROMENV/20201022/eu-west-1/kafka-cluster/aws4_request');
      assert.equal(fromEnv['x-amz-security-token'], 'token-from-env');
      assert.deepEqual(verify(fromEnv, 'secret-from-env', HOST), []);
    } finally {
      for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
        if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = saved[name];
      }
    }
  });

  test('parseMskIamResponse: the broker\'s JSON object', () => {
    assert.deepEqual(parseMskIamResponse(Buffer.from('{"version":"2020_10_22","request-id":"abc"}')), { version: '2020_10_22', 'request-id': 'abc' });
    assert.throws(() => parseMskIamResponse(Buffer.from('[1]')), /not a JSON object/);
  });
});
