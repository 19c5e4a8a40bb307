import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { Pacer, ReorderBuffer, replay, ReplayError } from '../../replay/index.js';
import type { Clock } from '../../replay/index.js';
import type { PutRecordsClient } from '../../common/kinesis/index.js';
import { createLogger } from '../../common/log.js';

/** A clock that moves only when slept on, and remembers the sleeps. */
function fakeClock(start = 1_000_000): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    async sleep(ms: number) {
      sleeps.push(ms);
      now += ms;
    },
  };
}

/** An in-memory Kinesis that keeps what it is given. */
function memoryKinesis(): PutRecordsClient & { records: { key: string; data: string }[] } {
  const records: { key: string; data: string }[] = [];
  return {
    records,
    async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
      const entries = command.input.Records ?? [];
      for (const e of entries) records.push({ key: e.PartitionKey as string, data: Buffer.from(e.Data as Uint8Array).toString('utf8') });
      return { FailedRecordCount: 0, Records: entries.map(() => ({ ShardId: 'shardId-0', SequenceNumber: '1' })), $metadata: {} };
    },
  };
}

/** A JSON-lines event with an id and a dropoff time. */
function jsonEvent(id: number, dropoff: string): string {
  return JSON.stringify({ trip_id: id, dropoff_datetime: dropoff, type: 'trip' });
}

const quiet = createLogger('test', { level: 'silent' });
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay-unit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pacing', () => {
  test('an event is due (eventTime - firstEventTime) / speedup after the start', async () => {
    // Given a pacer at 60× on a fake clock
    const clock = fakeClock();
    const pacer = new Pacer(60, clock);
    const t0 = Date.parse('2018-01-01T00:00:00Z');
    // When events one minute and one hour of event time apart are paced
    await pacer.wait(t0);
    await pacer.wait(t0 + 60_000);
    await pacer.wait(t0 + 3_600_000);
    // Then the waits are 1 s and 59 s of wall time
    assert.deepEqual(clock.sleeps, [1000, 59_000]);
    assert.equal(pacer.lagMs, 0);
  });

  test('replay lag is how far behind schedule an event goes out', async () => {
    const clock = fakeClock();
    const pacer = new Pacer(1000, clock);
    await pacer.wait(0);
    // the sender loses 5 s (a slow Kinesis) while the next event was due after 2 s
    await clock.sleep(5000);
    const { lagMs } = await pacer.wait(2_000_000);
    assert.equal(lagMs, 3000);
    assert.equal(pacer.maxLagMs, 3000);
  });

  test('an event older than one already paced goes at once and is late, not lag', async () => {
    const clock = fakeClock();
    const pacer = new Pacer(10, clock);
    await pacer.wait(0);
    await pacer.wait(100_000);
    const result = await pacer.wait(50_000);
    assert.deepEqual(result, { lagMs: 0, late: true });
    assert.deepEqual(clock.sleeps, [10_000]);
  });

  test('the default speedup is 6480 and must be > 0', async () => {
    assert.throws(() => new Pacer(0), /speedup/);
    const clock = fakeClock();
    const pacer = new Pacer(6480, clock);
    await pacer.wait(0);
    await pacer.wait(6_480_000); // 108 minutes of events
    assert.deepEqual(clock.sleeps, [1000]);
  });
});

describe('reorder buffer', () => {
  test('restores order within the window, keeping ties in input order', () => {
    const buffer = new ReorderBuffer<string>(3);
    const out: string[] = [];
    for (const [key, item] of [[5, 'a'], [3, 'b'], [4, 'c'], [3, 'd'], [9, 'e'], [6, 'f']] as const) {
      const released = buffer.push(key, item);
      if (released !== undefined) out.push(released);
    }
    out.push(...buffer.drain());
    assert.deepEqual(out, ['b', 'd', 'c', 'a', 'f', 'e']);
  });

  test('window 0 passes events through in input order', () => {
    const buffer = new ReorderBuffer<number>(0);
    assert.equal(buffer.push(5, 5), 5);
    assert.equal(buffer.size, 0);
    assert.throws(() => new ReorderBuffer(-1), /window/);
  });
});

describe('replay() with an in-memory stream and a fake clock', () => {
  test('unsorted input goes out in timestamp order, paced from the earliest', async () => {
    // Given JSON lines out of order (gzip'd, with a name that does not say so)
    const file = join(dir, 'events.data');
    const lines = [jsonEvent(3, '2018-01-01T00:03:00Z'), jsonEvent(1, '2018-01-01T00:01:00Z'), jsonEvent(2, '2018-01-01T00:02:00Z')];
    await writeFile(file, gzipSync(lines.join('\n')));
    const kinesis = memoryKinesis();
    const clock = fakeClock();
    // When replayed at 60× with the default reorder window
    const summary = await replay({ input: file, streamName: 's', speedup: 60, kinesisClient: kinesis, clock, logger: quiet, statisticsFrequencyMs: 0, progress: false });
    // Then they went out sorted, 1 s apart, byte for byte as read
    assert.deepEqual(kinesis.records.map((r) => r.key), ['1', '2', '3']);
    assert.deepEqual(kinesis.records.map((r) => r.data), [lines[1], lines[2], lines[0]]);
    assert.deepEqual(clock.sleeps, [1000, 1000]);
    assert.equal(summary.eventsSent, 3);
    assert.equal(summary.lateEvents, 0);
    assert.equal(summary.firstEventTime, '2018-01-01T00:01:00.000Z');
  });

  test('with reorder window 0, unsorted input is sent in input order and late events counted', async () => {
    const file = join(dir, 'events.jsonl');
    await writeFile(file, [jsonEvent(3, '2018-01-01T00:03:00Z'), jsonEvent(1, '2018-01-01T00:01:00Z')].join('\n'));
    const kinesis = memoryKinesis();
    const summary = await replay({ input: file, streamName: 's', reorderWindow: 0, kinesisClient: kinesis, clock: fakeClock(), logger: quiet, statisticsFrequencyMs: 0, progress: false });
    assert.deepEqual(kinesis.records.map((r) => r.key), ['3', '1']);
    assert.equal(summary.lateEvents, 1);
  });

  test('seek skips the events before it and counts them', async () => {
    const file = join(dir, 'events.jsonl');
    await writeFile(file, [1, 2, 3, 4].map((i) => jsonEvent(i, `2018-01-01T0${i}:00:00Z`)).join('\n'));
    const kinesis = memoryKinesis();
    const clock = fakeClock();
    const summary = await replay({
      input: file, streamName: 's', seek: new Date('2018-01-01T02:30:00Z'), speedup: 3600,
      kinesisClient: kinesis, clock, logger: quiet, statisticsFrequencyMs: 0, progress: false,
    });
    assert.deepEqual(kinesis.records.map((r) => r.key), ['3', '4']);
    assert.equal(summary.eventsSkipped, 2);
    assert.equal(summary.eventsRead, 4);
    assert.deepEqual(clock.sleeps, [1000], 'pacing starts at the first event sent, not at the seek time');
  });

  test('invalid rows are skipped, logged with line and column, and counted; strict stops at the first', async () => {
    // Given a CSV with one bad number among good rows (header included)
    const file = join(dir, 'trips.csv');
    const header = 'VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,airport_fee';
    const row = (fare: string, minute: number): string => `1,"1/1/2018, 2:0${minute}:00 AM","1/1/2018, 2:1${minute}:00 AM",1,0.5,1,N,41,24,2,${fare},0.5,0.5,0,0,0.3,5.8,-,-`;
    await writeFile(file, [header, row('4.5', 1), row('four', 2), row('6', 3)].join('\r\n') + '\r\n');
    const lines: string[] = [];
    const logger = createLogger('test', { level: 'warn', sink: (line) => lines.push(line) });
    const kinesis = memoryKinesis();
    // When replayed
    const summary = await replay({ input: file, streamName: 's', speedup: 1e9, kinesisClient: kinesis, clock: fakeClock(), logger, statisticsFrequencyMs: 0, progress: false });
    // Then two events went out, and the bad row is in the summary and the log
    assert.equal(summary.eventsSent, 2);
    assert.equal(summary.invalidRows, 1);
    const warning = JSON.parse(lines.find((l) => l.includes('invalid row')) ?? '{}') as Record<string, unknown>;
    assert.equal(warning.line, 3);
    assert.equal(warning.column, 'fare_amount');
    assert.equal(warning.value, 'four');
    // and strict mode fails with the row's error
    await assert.rejects(
      replay({ input: file, streamName: 's', strict: true, kinesisClient: memoryKinesis(), clock: fakeClock(), logger: quiet, statisticsFrequencyMs: 0, progress: false }),
      /trips\.csv line 3: column fare_amount value "four"/,
    );
  });

  test('max-events stops after N events', async () => {
    const file = join(dir, 'events.jsonl');
    await writeFile(file, [1, 2, 3, 4, 5].map((i) => jsonEvent(i, `2018-01-01T00:0${i}:00Z`)).join('\n'));
    const kinesis = memoryKinesis();
    const summary = await replay({ input: file, streamName: 's', maxEvents: 2, kinesisClient: kinesis, clock: fakeClock(), logger: quiet, statisticsFrequencyMs: 0, progress: false });
    assert.equal(kinesis.records.length, 2);
    assert.equal(summary.stoppedEarly, true);
  });

  test('records Kinesis refuses stop the replay with a ReplayError', async () => {
    const file = join(dir, 'events.jsonl');
    await writeFile(file, jsonEvent(1, '2018-01-01T00:01:00Z'));
    const refusing: PutRecordsClient = {
      async send(command) {
        return { FailedRecordCount: 1, Records: (command.input.Records ?? []).map(() => ({ ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'no' })), $metadata: {} };
      },
    };
    await assert.rejects(
      replay({ input: file, streamName: 's', kinesisClient: refusing, clock: fakeClock(), logger: quiet, statisticsFrequencyMs: 0, progress: false }),
      (error: unknown) => error instanceof ReplayError && /1 record\(s\) could not be written/.test(error.message),
    );
  });

  test('bad options are a ConfigError naming each', async () => {
    await assert.rejects(
      replay({ input: '', streamName: 's', speedup: -1, reorderWindow: 1.5 }),
      (error: unknown) => error instanceof Error && /input/.test(error.message) && /speedup/.test(error.message) && /reorderWindow/.test(error.message),
    );
  });
});

describe('progress bar', () => {
  test('shows sent/total, percent, rate and lag; without a total, just the count', async () => {
    const { renderProgress } = await import('../../replay/stats.js');
    assert.equal(renderProgress(250, 1000, 1234.4, 1500, 10), '[###.......] 250/1000 25% 1234 ev/s, lag 1.5 s');
    assert.equal(renderProgress(7, undefined, 3, 0), '7 events sent, 3 ev/s, lag 0.0 s');
  });
});
