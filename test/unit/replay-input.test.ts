import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { nothingSentReason, replay, ReplayError, ReplayInputError } from '../../replay/index.js';
import type { Clock, ReplaySummary } from '../../replay/index.js';
import type { PutRecordsClient } from '../../common/kinesis/index.js';
import { createLogger } from '../../common/log.js';
import { deaggregate } from '../../processor/sources/kinesis/kpl.js';

const SAMPLE = fileURLToPath(new URL('../../data/nyc-tlc/yellow_tripdata_2018-01_sample.csv', import.meta.url));

/** A clock that moves only when slept on. */
function fakeClock(start = 1_000_000): Clock {
  let now = start;
  return {
    now: () => now,
    async sleep(ms: number) {
      now += ms;
    },
  };
}

interface Put {
  readonly key: string;
  readonly data: Uint8Array;
}

/** An in-memory PutRecords endpoint that keeps what it is given; `refuseFrom` fails every request from that call on. */
function memoryKinesis(refuseFrom = Infinity): PutRecordsClient & { records: Put[]; calls: number } {
  const records: Put[] = [];
  const client = {
    records,
    calls: 0,
    async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
      client.calls += 1;
      const entries = command.input.Records ?? [];
      if (client.calls >= refuseFrom) {
        return { FailedRecordCount: entries.length, Records: entries.map(() => ({ ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'no' })), $metadata: {} };
      }
      for (const e of entries) records.push({ key: e.PartitionKey as string, data: e.Data as Uint8Array });
      return { FailedRecordCount: 0, Records: entries.map(() => ({ ShardId: 'shardId-0', SequenceNumber: '1' })), $metadata: {} };
    },
  };
  return client;
}

/** A JSON-lines event with an id and a dropoff time, and optional padding. */
function jsonEvent(id: number, minute: number, padding = ''): string {
  return JSON.stringify({ trip_id: id, dropoff_datetime: `2018-01-01T00:${String(minute).padStart(2, '0')}:00Z`, type: 'trip', padding });
}

/** A logger whose lines are kept. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: createLogger('test', { level: 'info', sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }), lines };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay-input-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (input: string, kinesis: PutRecordsClient, extra: Record<string, unknown> = {}): Promise<ReplaySummary> =>
  replay({ input, streamName: 's', kinesisClient: kinesis, clock: fakeClock(), logger: createLogger('test', { level: 'silent' }), statisticsFrequencyMs: 0, progress: false, ...extra });

describe('records over the Kinesis limit', () => {
  test('one record over 1 MiB (data + partition key) is rejected with the reason; the others are sent', async () => {
    // Given three events, the second 1 MiB long
    const file = join(dir, 'events.jsonl');
    await writeFile(file, [jsonEvent(1, 1), jsonEvent(2, 2, 'x'.repeat(1024 * 1024)), jsonEvent(3, 3)].join('\n'));
    const kinesis = memoryKinesis();
    const { logger, lines } = recordingLogger();
    // When replayed
    const summary = await run(file, kinesis, { logger });
    // Then the two others are sent, the big one is counted and logged with where and why
    assert.deepEqual(kinesis.records.map((r) => r.key), ['1', '3']);
    assert.equal(summary.eventsSent, 2);
    assert.equal(summary.rejectedRecords, 1);
    const warning = lines.find((l) => l.msg === 'record rejected');
    assert.ok(warning, JSON.stringify(lines));
    assert.equal(warning.line, 2);
    assert.equal(warning.partitionKey, '2');
    assert.match(String(warning.reason), /is over the 1048576-byte record limit/);
    assert.equal(nothingSentReason(summary), undefined);
  });

  test('when Kinesis refuses records, the message counts what was and was not written', async () => {
    // Given 1,200 events and a stream that takes the first request (500 records) and refuses the rest
    const file = join(dir, 'events.jsonl');
    await writeFile(file, Array.from({ length: 1200 }, (_, i) => jsonEvent(i + 1, i % 60)).join('\n'));
    const kinesis = memoryKinesis(2);
    // When replayed in input order, one request at a time
    const error = await run(file, kinesis, { reorderWindow: 0, maxInFlight: 1 }).then(
      () => assert.fail('the replay succeeded'),
      (e: unknown) => e,
    );
    // Then the numbers add up: written + not written = handed to the writer, and what the stream took was written
    // (the first request holds up to 500 records; how many depends on how fast the reader filled it)
    assert.ok(error instanceof ReplayError);
    const match = /^replay stopped: (\d+) record\(s\) could not be written to s \((\d+) given up on, (\d+) not attempted after the failure\); (\d+) of the (\d+) handed to the writer were written$/.exec(error.message);
    assert.ok(match, error.message);
    const [notWritten, givenUp, notAttempted, written, handed] = match.slice(1).map(Number) as [number, number, number, number, number];
    assert.ok(written > 0 && written <= 500, `written ${written}`);
    assert.equal(kinesis.records.length, written);
    assert.equal(notWritten + written, handed);
    assert.equal(givenUp + notAttempted, notWritten);
    assert.ok(givenUp >= 1);
  });
});

describe('input listing and formats', () => {
  test('a directory: what is skipped is said, with why; an unknown extension is sniffed, never parsed as CSV', async () => {
    // Given a directory with two events in a.jsonl, one in a file without extension, and entries that are not input
    await writeFile(join(dir, 'a.jsonl'), `${jsonEvent(1, 1)}\n${jsonEvent(2, 2)}\n`);
    await writeFile(join(dir, 'part-00000'), `${jsonEvent(3, 3)}\n`);
    await writeFile(join(dir, '.DS_Store'), 'binary junk');
    await writeFile(join(dir, 'README.txt'), 'These are the trips of January.\nOne per line.\n');
    await writeFile(join(dir, 'empty.jsonl'), '');
    await mkdir(join(dir, 'older'));
    await writeFile(join(dir, 'older', 'x.jsonl'), `${jsonEvent(9, 9)}\n`);
    const kinesis = memoryKinesis();
    const { logger, lines } = recordingLogger();
    // When the directory is replayed
    const summary = await run(dir, kinesis, { logger });
    // Then the three events are sent, no row is invalid, and each skipped entry is logged with its reason
    assert.deepEqual(kinesis.records.map((r) => r.key).sort(), ['1', '2', '3']);
    assert.equal(summary.invalidRows, 0);
    assert.equal(summary.objectsSkipped, 4);
    const skipped = Object.fromEntries(lines.filter((l) => l.msg === 'input skipped').map((l) => [String(l.source).slice(dir.length + 1), l.reason]));
    assert.deepEqual(Object.keys(skipped).sort(), ['.DS_Store', 'README.txt', 'empty.jsonl', 'older']);
    assert.equal(skipped['.DS_Store'], 'hidden file');
    assert.match(String(skipped.older), /a directory \(directories are not read recursively\)/);
    assert.equal(skipped['empty.jsonl'], 'empty file');
    assert.match(String(skipped['README.txt']), /unknown extension \.txt, and the first line is neither JSON nor a TLC CSV header or row \(pass --format csv/);
    for (const l of lines.filter((l) => l.msg === 'input skipped')) assert.equal(l.level, 'warn');
  });

  test('a TLC CSV under an unknown extension is still read as CSV (by its header)', async () => {
    const file = join(dir, 'trips.txt');
    await copyFile(SAMPLE, file);
    const summary = await run(file, memoryKinesis());
    assert.equal(summary.eventsSent, 1000);
    assert.equal(summary.invalidRows, 0);
  });

  test('a .gz or .lz4 name whose bytes are not compressed is an error naming the object and its first bytes', async () => {
    const file = join(dir, 'events.jsonl.lz4');
    await writeFile(file, jsonEvent(1, 1));
    await assert.rejects(run(file, memoryKinesis()), (error: unknown) => {
      assert.ok(error instanceof ReplayInputError);
      assert.match(error.message, /events\.jsonl\.lz4: the name says lz4, but it does not start with the lz4 magic bytes \(04 22 4d 18\); it starts with 7b 22 74 72/);
      return true;
    });
  });
});

describe('sending nothing', () => {
  test('an empty file: a warning, and the reason nothing was sent', async () => {
    const file = join(dir, 'empty.csv');
    await writeFile(file, '');
    const { logger, lines } = recordingLogger();
    const summary = await run(file, memoryKinesis(), { logger });
    assert.equal(summary.eventsSent, 0);
    assert.ok(lines.some((l) => l.msg === 'input skipped' && l.reason === 'empty file' && l.level === 'warn'));
    assert.equal(nothingSentReason(summary), 'no event could be sent: 1 input object(s) skipped');
    assert.ok(lines.some((l) => l.msg === 'replay sent nothing' && l.level === 'error'));
  });

  test('every row invalid: the reason counts them', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, '{"trip_id":1}\n{"trip_id":2}\nnot json\n');
    const summary = await run(file, memoryKinesis());
    assert.equal(summary.invalidRows, 3);
    assert.equal(nothingSentReason(summary), 'no event could be sent: 3 invalid row(s)');
  });

  test('max-events 0 sends nothing on purpose: not a failure', async () => {
    const file = join(dir, 'a.jsonl');
    await writeFile(file, jsonEvent(1, 1));
    assert.equal(nothingSentReason(await run(file, memoryKinesis(), { maxEvents: 0 })), undefined);
  });
});

describe('--aggregate', () => {
  test('events go as KPL aggregates within the size limit; de-aggregated they are the events, each with its own key', async () => {
    // Given 3,000 events
    const file = join(dir, 'events.jsonl');
    const texts = Array.from({ length: 3000 }, (_, i) => jsonEvent(i + 1, i % 60));
    await writeFile(file, texts.join('\n'));
    const kinesis = memoryKinesis();
    // When replayed with aggregation into 8 KiB aggregates (a client that cannot list shards: one group)
    const summary = await run(file, kinesis, { aggregate: true, aggregateMaxBytes: 8192, reorderWindow: 0 });
    // Then far fewer Kinesis records carry all the events
    assert.equal(summary.eventsSent, 3000);
    assert.equal(summary.kinesisRecordsSent, kinesis.records.length);
    assert.ok(kinesis.records.length < 100, `${kinesis.records.length} records`);
    const users: { key: string; text: string }[] = [];
    kinesis.records.forEach((r, i) => {
      assert.ok(r.data.byteLength + Buffer.byteLength(r.key) <= 8192);
      const result = deaggregate({ data: r.data, sequenceNumber: String(i), partitionKey: r.key });
      assert.ok(result.ok && result.aggregated);
      assert.equal(result.records[0]?.partitionKey, r.key);
      for (const u of result.records) users.push({ key: u.partitionKey, text: Buffer.from(u.data).toString('utf8') });
    });
    assert.deepEqual(users.map((u) => u.text), texts);
    assert.deepEqual(users.map((u) => u.key), texts.map((_, i) => String(i + 1)));
  });

  test('an event too large for Kinesis is rejected with the reason when aggregating too', async () => {
    const file = join(dir, 'events.jsonl');
    await writeFile(file, [jsonEvent(1, 1), jsonEvent(2, 2, 'x'.repeat(1024 * 1024)), jsonEvent(3, 3)].join('\n'));
    const kinesis = memoryKinesis();
    const summary = await run(file, kinesis, { aggregate: true });
    assert.equal(summary.eventsSent, 2);
    assert.equal(summary.rejectedRecords, 1);
  });

  test('aggregateMaxBytes is checked, naming it and the value', async () => {
    await assert.rejects(run(join(dir, 'x.jsonl'), memoryKinesis(), { aggregate: true, aggregateMaxBytes: 2 * 1024 * 1024 }), /aggregateMaxBytes must be an integer from 1024 to 1048576 \(1 MiB, the Kinesis record limit\), got 2097152/);
  });
});
