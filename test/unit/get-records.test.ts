import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ExpiredIteratorException, GetRecordsCommand, KinesisClient, type GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { bodyText, fastGetRecordsCommand, parseGetRecordsBody } from '../../processor/sources/kinesis/get-records.js';

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

/** A GetRecords response body as the service writes it (AWS JSON 1.1: timestamps in epoch seconds). */
function responseBody(records: { data: Uint8Array; key: string; seq: string; arrival: number }[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    MillisBehindLatest: 1234,
    NextShardIterator: 'AAAAiterator/with+chars==',
    Records: records.map((r) => ({ ApproximateArrivalTimestamp: r.arrival, Data: Buffer.from(r.data).toString('base64'), PartitionKey: r.key, SequenceNumber: r.seq })),
    ...extra,
  });
}

const sample = [
  { data: new TextEncoder().encode('{"trip_id":1,"note":"\\"Data\\":\\""}'), key: 'k"Data":"x', seq: '49590338271490256608559692538361571095921575989136588898', arrival: 1764150000.123 },
  { data: new Uint8Array(0), key: 'ünïcode key', seq: '49590338271490256608559692538361571095921575989136588899', arrival: 1764150000.5 },
  { data: randomBytes(4096), key: '"Data":"', seq: '49590338271490256608559692538361571095921575989136588900', arrival: 1764150001 },
  { data: new TextEncoder().encode('"Data":"AAAA"'), key: 'p', seq: '49590338271490256608559692538361571095921575989136588901', arrival: 1764150002.999 },
];

/** A Kinesis client whose HTTP handler answers every request with `status` and `body`. */
function clientAnswering(status: number, body: string, headers: Record<string, string> = {}, chunkBytes?: number): KinesisClient {
  const bytes = Buffer.from(body);
  const chunks = chunkBytes === undefined ? [bytes] : Array.from({ length: Math.ceil(bytes.length / chunkBytes) }, (_, i) => bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes));
  return new KinesisClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: {
      handle: async () => ({ response: { statusCode: status, reason: '', headers: { 'content-type': 'application/x-amz-json-1.1', ...headers }, body: Readable.from(chunks) } }),
    },
  });
}

function comparable(out: GetRecordsCommandOutput): unknown {
  return {
    MillisBehindLatest: out.MillisBehindLatest,
    NextShardIterator: out.NextShardIterator,
    ChildShards: out.ChildShards,
    Records: (out.Records ?? []).map((r) => ({ ...r, Data: Buffer.from(r.Data ?? new Uint8Array(0)).toString('hex'), ApproximateArrivalTimestamp: r.ApproximateArrivalTimestamp?.getTime() })),
  };
}

describe('GetRecords without the SDK deserializer', () => {
  test('base64 never needs a JSON escape: every character of its alphabet, and any encoded bytes, serialise as themselves', () => {
    for (const c of BASE64_ALPHABET) assert.equal(JSON.stringify(c), `"${c}"`, `character ${c}`);
    for (let n = 0; n < 64; n += 1) {
      const b64 = randomBytes(n * 7).toString('base64');
      assert.equal(JSON.stringify(b64), `"${b64}"`);
      assert.ok(/^[A-Za-z0-9+/=]*$/.test(b64));
    }
  });

  test('parses what the SDK parses: data, keys, sequence numbers, arrival times, lag, iterator, child shards', async () => {
    const childShards = [{ ShardId: 'shardId-000000000002', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '170141183460469231731687303715884105727' } }];
    const body = responseBody(sample, { ChildShards: childShards });
    const viaSdk = await clientAnswering(200, body).send(new GetRecordsCommand({ ShardIterator: 'it' }));
    const fast = await clientAnswering(200, body).send(fastGetRecordsCommand({ ShardIterator: 'it' }));
    assert.deepEqual(comparable(fast), comparable(viaSdk));
    assert.equal(fast.Records?.length, sample.length);
    assert.deepEqual(Buffer.from(fast.Records![2]!.Data!), Buffer.from(sample[2]!.data));
    assert.equal(fast.$metadata.httpStatusCode, 200);
  });

  test('an ASCII body in many chunks, and one with a multi-byte character split across chunks, parse as the SDK parses them', async () => {
    const ascii = sample.filter((r) => /^[\x20-\x7e]*$/.test(r.key));
    assert.equal(ascii.length, sample.length - 1);
    const many = Array.from({ length: 300 }, (_, i) => ({ data: randomBytes(i % 17 === 0 ? 0 : 1 + ((i * 37) % 500)), key: `key-${i}`, seq: String(10n ** 40n + BigInt(i)), arrival: 1764150000 + i / 7 }));
    for (const records of [[...ascii, ...many], [...sample, ...many]]) {
      const body = responseBody(records);
      // Chunks of 997 bytes: the unicode key's two-byte characters fall across a boundary in some.
      const viaSdk = await clientAnswering(200, body, {}, 997).send(new GetRecordsCommand({ ShardIterator: 'it' }));
      const fast = await clientAnswering(200, body, {}, 997).send(fastGetRecordsCommand({ ShardIterator: 'it' }));
      assert.deepEqual(comparable(fast), comparable(viaSdk));
      assert.equal(fast.Records?.length, records.length);
      records.forEach((r, i) => assert.deepEqual(Buffer.from(fast.Records![i]!.Data!), Buffer.from(r.data), `record ${i}`));
    }
  });

  test('the body text is the UTF-8 decoding whether or not the bytes are ASCII', () => {
    for (const text of ['{"a":"plain ascii ~"}', '{"PartitionKey":"ünïcode ✓ 𝄞"}', '', '\u007f\u0000']) {
      const bytes = Buffer.from(text);
      assert.equal(bodyText(bytes), bytes.toString('utf8'));
    }
    const invalid = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    assert.equal(bodyText(invalid), invalid.toString('utf8'));
  });

  test('an escaped slash (legal JSON) in the data falls back to a whole parse with the same result', async () => {
    const data = Buffer.from([0xff, 0xff, 0xff, 0xfb, 0xef, 0xbe]); // base64 "////++++"
    const records = [{ data, key: 'a', seq: '1', arrival: 1 }, ...sample];
    const plain = responseBody(records);
    const escaped = plain.replaceAll('/', '\\/');
    assert.notEqual(escaped, plain);
    const a = parseGetRecordsBody(plain);
    const b = parseGetRecordsBody(escaped);
    assert.ok(a && b);
    assert.deepEqual(Buffer.from(b.Records![0]!.Data!), data);
    assert.deepEqual(b.Records!.map((r) => Buffer.from(r.Data!).toString('hex')), a.Records!.map((r) => Buffer.from(r.Data!).toString('hex')));
    assert.equal(b.NextShardIterator, a.NextShardIterator);
  });

  test('an empty batch, whitespace around the keys, and a body that is not a GetRecords response', () => {
    assert.deepEqual(parseGetRecordsBody('{"MillisBehindLatest":0,"NextShardIterator":"x","Records":[]}')?.Records, []);
    const spaced = parseGetRecordsBody('{ "Records" : [ { "Data" : "AAEC", "PartitionKey" : "p", "SequenceNumber" : "5" } ] }');
    assert.deepEqual([...spaced!.Records![0]!.Data!], [0, 1, 2]);
    assert.equal(parseGetRecordsBody('not json'), undefined);
    assert.equal(parseGetRecordsBody('{"Records":[{"Data":"AAEC"}]}'), undefined);
  });

  test('error responses are the SDK\'s own errors', async () => {
    const client = clientAnswering(400, JSON.stringify({ __type: 'ExpiredIteratorException', message: 'Iterator expired' }), { 'x-amzn-errortype': 'ExpiredIteratorException' });
    await assert.rejects(client.send(fastGetRecordsCommand({ ShardIterator: 'it' })), (error: unknown) => error instanceof ExpiredIteratorException);
  });

  test('a malformed 200 body is left to the SDK, which reports it', async () => {
    const client = clientAnswering(200, '{"Records":[{"Data":"AAEC"');
    await assert.rejects(client.send(fastGetRecordsCommand({ ShardIterator: 'it' })));
    await assert.rejects(clientAnswering(200, '{"Records":[{"Data":"AAEC"').send(new GetRecordsCommand({ ShardIterator: 'it' })));
  });
});
