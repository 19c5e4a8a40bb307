import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PutRecordsCommand, PutRecordsCommandOutput, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import {
  KINESIS_LIMITS,
  KinesisRecordRejectedError,
  KinesisWriteError,
  PutRecordsWriter,
  splitIntoBatches,
} from '../../common/kinesis/index.js';
import type { KinesisRecord, PutRecordsClient } from '../../common/kinesis/index.js';

const MIB = 1024 * 1024;

/** A record of `size` data bytes with key `key`. */
function record(key: string, size = 10): KinesisRecord {
  return { data: new Uint8Array(size), partitionKey: key };
}

function records(n: number, size = 10): KinesisRecord[] {
  return Array.from({ length: n }, (_, i) => record(`k${i}`, size));
}

type Answer = (keys: string[], call: number) => (string | undefined)[] | Error;

/** An in-memory PutRecords client: answers each entry with the error code `answer` gives (undefined = success). */
function fakeClient(answer: Answer = (keys) => keys.map(() => undefined)): PutRecordsClient & { calls: string[][]; delivered: string[] } {
  const calls: string[][] = [];
  const delivered: string[] = [];
  return {
    calls,
    delivered,
    async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
      const keys = (command.input.Records ?? []).map((r) => r.PartitionKey as string);
      calls.push(keys);
      await Promise.resolve();
      const codes = answer(keys, calls.length);
      if (codes instanceof Error) throw codes;
      const results: PutRecordsResultEntry[] = keys.map((key, i) => {
        const code = codes[i];
        if (code) return { ErrorCode: code, ErrorMessage: `${code} for ${key}` };
        delivered.push(key);
        return { ShardId: 'shardId-000000000000', SequenceNumber: String(delivered.length) };
      });
      return { FailedRecordCount: results.filter((r) => r.ErrorCode).length, Records: results, $metadata: {} };
    },
  };
}

const noSleep = async (): Promise<void> => undefined;

describe('batch splitting', () => {
  test('at 500 records', () => {
    const batches = splitIntoBatches(records(1201));
    assert.deepEqual(batches.map((b) => b.length), [500, 500, 201]);
  });

  test('at 5 MiB, counting partition keys', () => {
    // Given records of 1 MiB - 2 bytes of data with 2-byte keys: exactly 1 MiB each
    const big = Array.from({ length: 11 }, (_, i) => ({ data: new Uint8Array(MIB - 2), partitionKey: `k${i}` }));
    // Then five fit a request, the sixth starts the next
    assert.deepEqual(splitIntoBatches(big).map((b) => b.length), [5, 5, 1]);
    // and one byte more per record makes four per request
    const bigger = big.map((r) => ({ ...r, data: new Uint8Array(MIB - 1) }));
    assert.deepEqual(splitIntoBatches(bigger).map((b) => b.length), [4, 4, 3]);
  });

  test('the writer sends full requests within both limits', async () => {
    const client = fakeClient();
    const writer = new PutRecordsWriter({ client, stream: 's', maxInFlight: 2, lingerMs: 10_000 });
    await writer.write(records(1200));
    await writer.write(Array.from({ length: 6 }, (_, i) => ({ data: new Uint8Array(MIB - 3), partitionKey: `b${i}` })));
    await writer.flush();
    // Then the 200 small records left share a request with as many big ones as fit in 5 MiB
    assert.deepEqual(client.calls.map((c) => c.length), [500, 500, 204, 2]);
    const bytes = (key: string): number => (key.startsWith('b') ? MIB - 3 : 10) + key.length;
    for (const call of client.calls) {
      assert.ok(call.length <= KINESIS_LIMITS.maxRecordsPerRequest);
      assert.ok(call.reduce((sum, key) => sum + bytes(key), 0) <= KINESIS_LIMITS.maxBytesPerRequest);
    }
    assert.equal(new Set(client.delivered).size, 1206);
  });
});

describe('record limits', () => {
  test('a record over 1 MiB (data + key) is rejected at write() naming its size and key', async () => {
    const client = fakeClient();
    const writer = new PutRecordsWriter({ client, stream: 's' });
    await assert.rejects(
      writer.write({ data: new Uint8Array(MIB - 3), partitionKey: 'abcd' }),
      (error: unknown) => error instanceof KinesisRecordRejectedError && /1048577 bytes/.test(error.message) && /"abcd"/.test(error.message),
    );
    // exactly 1 MiB is fine
    await writer.write({ data: new Uint8Array(MIB - 4), partitionKey: 'abcd' });
    await writer.close();
    assert.deepEqual(client.delivered, ['abcd']);
  });

  test('a bad partition key is rejected, and nothing of that call is taken', async () => {
    const client = fakeClient();
    const writer = new PutRecordsWriter({ client, stream: 's' });
    await assert.rejects(writer.write([record('ok'), record('')]), KinesisRecordRejectedError);
    await assert.rejects(writer.write(record('x'.repeat(257))), /1 to 256 characters/);
    await writer.close();
    assert.equal(client.calls.length, 0);
  });
});

describe('partial failures', () => {
  test('only the failed entries are sent again, until all are in', async () => {
    // Given a client that throttles k1 and k3 on the first call and k3 on the second
    const client = fakeClient((keys, call) =>
      keys.map((k) => ((call === 1 && (k === 'k1' || k === 'k3')) || (call === 2 && k === 'k3') ? 'ProvisionedThroughputExceededException' : undefined)),
    );
    const delays: number[] = [];
    const writer = new PutRecordsWriter({
      client,
      stream: 's',
      initialBackoffMs: 100,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    // When 5 records are written and flushed
    await writer.write(records(5));
    await writer.flush();
    // Then the retries carried only the failed entries, nothing lost or doubled
    assert.deepEqual(client.calls, [['k0', 'k1', 'k2', 'k3', 'k4'], ['k1', 'k3'], ['k3']]);
    assert.deepEqual([...client.delivered].sort(), ['k0', 'k1', 'k2', 'k3', 'k4']);
    assert.equal(writer.stats.retries, 3);
    assert.equal(writer.stats.throttles, 3);
    assert.equal(writer.stats.recordsSent, 5);
    // with growing backoff (full jitter over 100, 200 ms caps)
    assert.equal(delays.length, 2);
    assert.ok((delays[0] as number) >= 50 && (delays[0] as number) <= 100);
    assert.ok((delays[1] as number) >= 100 && (delays[1] as number) <= 200);
  });

  test('a non-retriable entry error fails flush() with KinesisWriteError naming the record', async () => {
    const client = fakeClient((keys) => keys.map((k) => (k === 'k2' ? 'KMSAccessDeniedException' : undefined)));
    const writer = new PutRecordsWriter({ client, stream: 's', sleep: noSleep });
    await writer.write(records(4));
    await assert.rejects(writer.flush(), (error: unknown) => {
      assert.ok(error instanceof KinesisWriteError);
      assert.match(error.message, /KMSAccessDeniedException/);
      assert.deepEqual(error.records.map((r) => r.partitionKey), ['k2']);
      assert.ok(error.cause instanceof Error);
      return true;
    });
    assert.equal(client.calls.length, 1, 'not retried');
    // and later writes fail too
    await assert.rejects(writer.write(record('late')), KinesisWriteError);
  });

  test('retries that run out fail the writer instead of dropping the record', async () => {
    const client = fakeClient((keys) => keys.map((k) => (k === 'k0' ? 'InternalFailure' : undefined)));
    const writer = new PutRecordsWriter({ client, stream: 's', maxAttempts: 3, sleep: noSleep });
    await writer.write(records(2));
    await assert.rejects(writer.flush(), (error: unknown) => error instanceof KinesisWriteError && (error.records[0]?.attempts ?? 0) === 3);
    assert.deepEqual(client.calls, [['k0', 'k1'], ['k0'], ['k0']]);
    assert.equal(writer.stats.failedRecords, 1);
  });

  test('a retriable request error resends the batch; a non-retriable one fails it', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    const client = fakeClient((keys, call) => (call === 1 ? throttled : keys.map(() => undefined)));
    const writer = new PutRecordsWriter({ client, stream: 's', sleep: noSleep });
    await writer.write(records(3));
    await writer.flush();
    assert.equal(client.calls.length, 2);
    assert.equal(writer.stats.throttles, 3);

    const missing = Object.assign(new Error('Stream s not found'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    const failing = new PutRecordsWriter({ client: fakeClient(() => missing), stream: 's', sleep: noSleep });
    await failing.write(records(2));
    await assert.rejects(failing.close(), /ResourceNotFoundException.*not retriable/);
  });
});

describe('backpressure, flush and ARNs', () => {
  test('write() waits while the buffer is full and in-flight requests are at the limit', async () => {
    // Given a client whose responses we release by hand
    const pending: (() => void)[] = [];
    const client: PutRecordsClient & { calls: number } = {
      calls: 0,
      send(command: PutRecordsCommand) {
        client.calls += 1;
        const n = command.input.Records?.length ?? 0;
        return new Promise<PutRecordsCommandOutput>((resolve) =>
          pending.push(() => resolve({ FailedRecordCount: 0, Records: Array.from({ length: n }, () => ({ SequenceNumber: '1', ShardId: 's' })), $metadata: {} })),
        );
      },
    };
    const writer = new PutRecordsWriter({ client, stream: 's', maxInFlight: 1, maxRecordsPerRequest: 2, maxBufferedRecords: 2, lingerMs: 10_000 });
    // When 2 records fill a request and 2 more fill the buffer
    await writer.write(records(2));
    let resolved = false;
    const blocked = writer.write(records(2)).then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    // Then the second write waits (one request in flight, buffer full)
    assert.equal(client.calls, 1);
    assert.equal(resolved, false);
    // and goes on once the request is acknowledged
    pending.shift()?.();
    await blocked;
    assert.equal(resolved, true);
    const flushed = writer.flush();
    await new Promise((r) => setImmediate(r));
    pending.shift()?.();
    await flushed;
    assert.equal(writer.stats.recordsSent, 4);
  });

  test('flush() resolves at once when nothing is pending, and sends a partial batch without waiting for the linger', async () => {
    const client = fakeClient();
    const writer = new PutRecordsWriter({ client, stream: 's', lingerMs: 60_000 });
    await writer.flush();
    await writer.write(record('only'));
    await writer.flush();
    assert.deepEqual(client.calls, [['only']]);
  });

  test('a partial batch goes out after the linger time without a flush', async () => {
    const client = fakeClient();
    const writer = new PutRecordsWriter({ client, stream: 's', lingerMs: 5 });
    await writer.write(record('lonely'));
    for (let i = 0; i < 200 && client.delivered.length === 0; i += 1) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(client.delivered, ['lonely']);
  });

  test('an ARN is sent as StreamARN, a name as StreamName', async () => {
    const inputs: unknown[] = [];
    const client: PutRecordsClient = {
      async send(command) {
        inputs.push({ StreamName: command.input.StreamName, StreamARN: command.input.StreamARN });
        return { Records: (command.input.Records ?? []).map(() => ({ SequenceNumber: '1', ShardId: 's' })), $metadata: {} };
      },
    };
    const arn = 'arn:aws:kinesis:us-east-1:123456789012:stream/trips';
    for (const stream of [arn, 'trips']) {
      const writer = new PutRecordsWriter({ client, stream });
      await writer.write(record('a'));
      await writer.close();
    }
    assert.deepEqual(inputs, [{ StreamName: undefined, StreamARN: arn }, { StreamName: 'trips', StreamARN: undefined }]);
  });

  test('write() after close() is refused', async () => {
    const writer = new PutRecordsWriter({ client: fakeClient(), stream: 's' });
    await writer.close();
    await assert.rejects(writer.write(record('a')), /after close/);
  });
});
