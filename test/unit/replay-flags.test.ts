import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from '../../common/cli.js';
import { UsageError } from '../../common/errors.js';
import { optionsFromFlags, REPLAY_FLAGS } from '../../replay/index.js';
import type { ReplayOptions } from '../../replay/index.js';

function parse(argv: string[]): ReplayOptions {
  return optionsFromFlags(parseFlags(argv, REPLAY_FLAGS));
}

describe('replay flags', () => {
  test('the long spellings', () => {
    const options = parse([
      '--input', 'data/x.csv', '--stream-name', 'trips', '--speedup', '1000', '--timestamp-attribute', 'pickup_datetime',
      '--seek', '2018-01-01T06:00:00', '--statistics-frequency=1000', '--endpoint', 'http://127.0.0.1:4567', '--region', 'eu-west-1',
      '--format', 'csv', '--reorder-window', '0', '--max-events', '10', '--max-in-flight', '2', '--strict', '--no-progress',
    ]);
    assert.deepEqual(options, {
      input: 'data/x.csv',
      streamName: 'trips',
      endpoint: 'http://127.0.0.1:4567',
      region: 'eu-west-1',
      speedup: 1000,
      timestampAttribute: 'pickup_datetime',
      seek: new Date('2018-01-01T06:00:00Z'),
      statisticsFrequencyMs: 1000,
      format: 'csv',
      reorderWindow: 0,
      maxEvents: 10,
      maxInFlight: 2,
      strict: true,
      progress: false,
    });
  });

  test("amazon-kinesis-replay's single-dash spellings, -noWatermark a no-op", () => {
    const options = parse([
      '-streamName', 'trips', '-speedup', '600', '-timestampAttributeName', 'pickup_datetime', '-seek', '2018-01-01T06:00:00Z',
      '-statisticsFrequency', '2000', '-bucketName', 'taxi', '-objectPrefix', 'trips/2018/', '-noWatermark', '-streamRegion', 'us-west-2',
    ]);
    assert.equal(options.input, 's3://taxi/trips/2018/');
    assert.equal(options.streamName, 'trips');
    assert.equal(options.speedup, 600);
    assert.equal(options.timestampAttribute, 'pickup_datetime');
    assert.equal(options.seek?.toISOString(), '2018-01-01T06:00:00.000Z');
    assert.equal(options.statisticsFrequencyMs, 2000);
    assert.equal(options.region, 'us-west-2');
  });

  test('defaults are left to replay()', () => {
    const options = parse(['--input', 'x.csv', '--stream-name', 's']);
    assert.equal(options.speedup, undefined);
    assert.equal(options.timestampAttribute, undefined);
    assert.equal(options.progress, 'auto');
  });

  test('an unknown flag is a usage error naming it', () => {
    assert.throws(() => parse(['--input', 'x', '--stream-name', 's', '--sped-up', '3']), (e: unknown) => e instanceof UsageError && /"--sped-up"/.test(e.message));
    assert.throws(() => parse(['-streamname', 's']), /unknown flag "-streamname"/);
  });

  test('a bad value names the flag and the value', () => {
    const base = ['--input', 'x', '--stream-name', 's'];
    assert.throws(() => parse([...base, '--speedup', 'fast']), /--speedup.*"fast"/);
    assert.throws(() => parse([...base, '-speedup', '0']), /--speedup.*"0"/);
    assert.throws(() => parse([...base, '--seek', 'yesterday']), /--seek.*"yesterday"/);
    assert.throws(() => parse([...base, '--format', 'xml']), /--format.*"xml"/);
    assert.throws(() => parse([...base, '--max-events', '-1']), /--max-events.*"-1"/);
    assert.throws(() => parse([...base, '--statistics-frequency', '1.5']), /--statistics-frequency.*"1.5"/);
    assert.throws(() => parse([...base, '--endpoint', 'localhost']), /--endpoint.*"localhost"/);
  });

  test('missing or conflicting inputs and a missing stream are usage errors', () => {
    assert.throws(() => parse(['--stream-name', 's']), /--input/);
    assert.throws(() => parse(['--input', 'x']), /--stream-name/);
    assert.throws(() => parse(['--input', 'x', '-bucketName', 'b', '--stream-name', 's']), /not both/);
    assert.throws(() => parse(['-objectPrefix', 'p', '--stream-name', 's']), /bucket-name/);
  });
});
