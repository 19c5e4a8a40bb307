/**
 * The OpenSearch sink's pure parts: which endpoints are SigV4-signed and for which service and
 * region; the signed request's headers (checked by recomputing the signature); the source-order
 * key; the mapping and the documents derived from the schema.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../common/errors.js';
import { loadSchema, parseSchema } from '../../processor/formats/index.js';
import { DocumentEncoder, awsSigningFor, createOpenSearchClient, mappingFor, orderKey } from '../../processor/sinks/opensearch/index.js';

describe('awsSigningFor', () => {
  test('OpenSearch Service domains are signed for es, in the region of the host name', () => {
    assert.deepEqual(awsSigningFor('https://search-trips-abc123.eu-west-1.es.amazonaws.com', undefined, undefined), { service: 'es', region: 'eu-west-1' });
    assert.deepEqual(awsSigningFor('https://vpc-trips-abc123.us-gov-west-1.es.amazonaws.com:443', undefined, undefined), { service: 'es', region: 'us-gov-west-1' });
  });
  test('OpenSearch Serverless collections are signed for aoss', () => {
    assert.deepEqual(awsSigningFor('https://abc123xyz.us-east-1.aoss.amazonaws.com', undefined, undefined), { service: 'aoss', region: 'us-east-1' });
  });
  test('ElasticsearchRegion wins over the host name; without either the SDK region is used, and without any it is a ConfigError', () => {
    assert.deepEqual(awsSigningFor('https://search-d.eu-west-1.es.amazonaws.com', 'eu-central-1', undefined), { service: 'es', region: 'eu-central-1' });
    assert.deepEqual(awsSigningFor('https://search-d.es.amazonaws.com', undefined, 'ap-south-1'), { service: 'es', region: 'ap-south-1' });
    assert.throws(() => awsSigningFor('https://search-d.es.amazonaws.com', undefined, undefined), (e: unknown) => e instanceof ConfigError && /ElasticsearchRegion/.test(e.message));
  });
  test('other endpoints are not signed', () => {
    for (const endpoint of ['http://127.0.0.1:9200', 'https://search.example.net', 'https://es.amazonaws.com.evil.example', 'https://search-d.eu-west-1.es.amazonaws.co']) {
      assert.equal(awsSigningFor(endpoint, 'eu-west-1', 'eu-west-1'), undefined, endpoint);
    }
  });
});

/** Requests a local HTTP server received: method, path, headers, body. */
async function capture(run: (endpoint: string) => Promise<void>): Promise<{ method: string; path: string; headers: IncomingHttpHeaders; body: string }[]> {
  const seen: { method: string; path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      seen.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.setHeader('content-type', 'application/json');
      response.end(request.url === '/_bulk' ? '{"took":1,"errors":false,"items":[]}' : '{"version":{"number":"2.19.6"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return seen;
}

const hmac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text, 'utf8').digest();
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The SigV4 signature of a received request, recomputed from the AWS specification. */
function expectedSignature(request: { method: string; path: string; headers: IncomingHttpHeaders; body: string }, signedHeaders: string[], secret: string, scope: string[]): string {
  const [date, region, service] = scope as [string, string, string];
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${String(request.headers[name]).trim()}\n`).join('');
  const [path, query = ''] = request.path.split('?');
  const canonicalQuery = query === '' ? '' : query.split('&').sort().join('&');
  const canonical = [request.method, path, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), sha256(request.body)].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', String(request.headers['x-amz-date']), `${date}/${region}/${service}/aws4_request`, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

describe('SigV4 signing', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-1' };

  test('a signed client sends Authorization, x-amz-date and host that verify against the secret key', async () => {
    // Given a client signing for es in eu-west-1 with known credentials, talking to a local server
    let host = '';
    const seen = await capture(async (endpoint) => {
      // The signer signs the host name (AWS endpoints are on the default port).
      host = new URL(endpoint).hostname;
      const client = createOpenSearchClient({ node: endpoint, signing: { service: 'es', region: 'eu-west-1' }, getCredentials: async () => credentials });
      // When it sends a GET and a bulk POST with a body
      await client.info();
      await client.bulk({ body: [{ index: { _index: 'trip', _id: '1' } }, { trip_id: 1 }] });
      await client.close();
    });
    // Then both carry a valid SigV4 signature over host and x-amz-date (and the body's hash)
    assert.equal(seen.length, 2);
    for (const request of seen) {
      assert.equal(request.headers.host, host);
      const amzDate = String(request.headers['x-amz-date']);
      assert.match(amzDate, /^\d{8}T\d{6}Z$/);
      assert.equal(request.headers['x-amz-security-token'], credentials.sessionToken);
      assert.equal(request.headers['x-amz-content-sha256'], sha256(request.body));
      const match = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/(\d{8})\/eu-west-1\/es\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(String(request.headers.authorization));
      assert.ok(match, `authorization header: ${request.headers.authorization}`);
      assert.equal(match[1], amzDate.slice(0, 8), 'the credential scope has the request date');
      const signed = match[2]!.split(';');
      assert.ok(signed.includes('host') && signed.includes('x-amz-date'), `signed headers: ${match[2]}`);
      assert.equal(match[3], expectedSignature(request, signed, credentials.secretAccessKey, [match[1]!, 'eu-west-1', 'es']));
      assert.notEqual(match[3], expectedSignature(request, signed, 'another-secret', [match[1]!, 'eu-west-1', 'es']));
    }
  });

  test('aoss signing names the aoss service; an unsigned client sends no Authorization', async () => {
    const signedSeen = await capture(async (endpoint) => {
      const client = createOpenSearchClient({ node: endpoint, signing: { service: 'aoss', region: 'us-east-1' }, getCredentials: async () => credentials });
      await client.info();
      await client.close();
    });
    assert.match(String(signedSeen[0]?.headers.authorization), /\/us-east-1\/aoss\/aws4_request, /);
    const plain = await capture(async (endpoint) => {
      const client = createOpenSearchClient({ node: endpoint });
      await client.info();
      await client.close();
    });
    assert.equal(plain[0]?.headers.authorization, undefined);
    assert.equal(plain[0]?.headers['x-amz-date'], undefined);
  });
});

describe('orderKey', () => {
  const at = (position: string): string | undefined => orderKey({ source: 'kinesis', stream: 's', shard: 'shardId-0', position });
  test('string order is the numeric order of sequence numbers of any length, then of sub-sequence numbers', () => {
    const positions = ['9', '10', '49590338271490256608559692538361571095921575989136588898', '49590338271490256608559692538361571095921575989136588898:1', '49590338271490256608559692538361571095921575989136588898:12', '49590338271490256608559692538361571095921575989136588899', '149590338271490256608559692538361571095921575989136588898'];
    const keys = positions.map((p) => at(p)!);
    assert.deepEqual([...keys].sort(), keys);
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(at('10'), at('10:0'));
  });
  test('a position that is not a number has no key', () => {
    for (const bad of ['', 'LATEST', '01', '1:x', '1:2:3', '-5']) assert.equal(at(bad), undefined, bad);
  });
});

describe('mapping and documents', () => {
  test('the TripEvent mapping: dates, exact longs, numbers, keywords, strict', async () => {
    const schema = await loadSchema('TripEvent');
    const mapping = mappingFor(schema) as { dynamic: string; properties: Record<string, { type: string }> };
    assert.equal(mapping.dynamic, 'strict');
    const types = Object.fromEntries(Object.entries(mapping.properties).map(([name, p]) => [name, p.type]));
    assert.equal(types['pickup_datetime'], 'date');
    assert.equal(types['dropoff_datetime'], 'date');
    assert.equal(types['trip_id'], 'long');
    assert.equal(types['fare_amount'], 'double');
    assert.equal(types['passenger_count'], 'integer');
    assert.equal(types['type'], 'keyword');
    assert.equal(types['etl_order'], 'keyword');
    assert.equal(Object.values(types).includes('geo_point'), false, 'TripEvent has no coordinates');
  });

  test('coordinates make a geo_point; the document holds it', () => {
    const schema = parseSchema({ name: 'Geo', fields: [{ name: 'id', type: 'long' }, { name: 'pickup_latitude', type: 'double' }, { name: 'pickup_longitude', type: 'double' }] }, 'test');
    const mapping = mappingFor(schema) as { properties: Record<string, { type: string }> };
    assert.equal(mapping.properties['pickup_location']?.type, 'geo_point');
    assert.equal(new DocumentEncoder(schema).encode([5n, 40.7, -73.9], 'k'), '{"etl_order":"k","id":5,"pickup_latitude":40.7,"pickup_longitude":-73.9,"pickup_location":{"lat":40.7,"lon":-73.9}}');
  });

  test('a document keeps a long beyond 2^53 exactly and writes datetimes as ISO-8601 UTC', async () => {
    const schema = parseSchema({ name: 'T', fields: [{ name: 'trip_id', type: 'long' }, { name: 'at', type: 'timestamp-millis' }, { name: 'note', type: 'string', nullable: true }] }, 'test');
    const text = new DocumentEncoder(schema).encode([9223372036854775807n, Date.UTC(2018, 0, 1, 2, 3, 4, 5), null], '0011:0000000000');
    assert.equal(text, '{"etl_order":"0011:0000000000","trip_id":9223372036854775807,"at":"2018-01-01T02:03:04.005Z","note":null}');
  });

  test('a schema field named like a field the sink adds is a ConfigError', () => {
    const schema = parseSchema({ name: 'T', fields: [{ name: 'etl_order', type: 'string' }] }, 'test');
    assert.throws(() => new DocumentEncoder(schema), ConfigError);
  });
});
