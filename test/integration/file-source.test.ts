/**
 * The bounded file source (`InputFile`): the sample as JSON-lines files (one gzip'd) → S3 Parquet,
 * every event exactly once, and the processor exits 0 on its own once every file is checkpointed;
 * a processor killed with SIGKILL inside a checkpoint and started again still writes every event
 * once; two processors split the files; an S3 prefix input; a bad line → one dead letter naming the file and line; configuration
 * errors exit 2 naming InputFile and the value.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig } from '../../common/aws.js';
import type { LocalServices } from '../../local/services.js';
import { convertTlcRow } from '../../replay/csv.js';
import { startCliProcessor, type CliExit } from '../support/cli-processor.js';
import { downloadPrefix, getObject, listKeys, startServicesForTest, uniqueName } from '../support/local.js';
import { readParquet } from '../support/parquet.js';
import { SAMPLE_CSV, sampleFacts } from '../support/sample.js';

/** The sample as JSON lines, in `parts` files: names and contents (the third gzip'd). */
async function sampleFiles(parts: number): Promise<{ name: string; body: Buffer }[]> {
  const rows = (await readFile(SAMPLE_CSV, 'utf8')).split('\n').slice(1).filter((l) => l.trim() !== '');
  const json = rows.map((raw, i) => convertTlcRow(raw, i + 2, SAMPLE_CSV).json);
  const names = ['part-0.jsonl', 'part-1.json', 'part-2.ndjson.gz', 'part-3.jsonl', 'part-4.json', 'part-5.jsonl'];
  const size = Math.ceil(json.length / parts);
  return names.slice(0, parts).map((name, i) => {
    const text = `${json.slice(i * size, (i + 1) * size).join('\n')}\n`;
    return { name, body: name.endsWith('.gz') ? gzipSync(text) : Buffer.from(text) };
  });
}

describe('file source (InputFile)', () => {
  let services: LocalServices;
  let s3: S3Client;
  const cleanup: string[] = [];
  const facts = sampleFacts();
  before(async () => {
    services = await startServicesForTest();
    s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: true });
  });
  after(async () => {
    s3.destroy();
    await services.stop();
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  async function localInput(parts: number, extra: Record<string, string> = {}): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'file-source-'));
    cleanup.push(dir);
    for (const f of await sampleFiles(parts)) await writeFile(join(dir, f.name), f.body);
    for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
    return dir;
  }

  async function resources(): Promise<{ bucket: string; table: string }> {
    const names = { bucket: uniqueName('out'), table: uniqueName('ckpt') };
    await services.createBucket(names.bucket);
    await services.createTable(names.table);
    return names;
  }

  function envFor(input: string, bucket: string, table: string, app: string): Record<string, string> {
    return { ...services.env, InputFile: input, OutputBucket: bucket, CheckpointTable: table, ApplicationName: app, CheckpointInterval: '3600000', StatusInterval: '200', LeaseDuration: '3000' };
  }

  async function assertExactlyOnce(bucket: string): Promise<void> {
    const { dir } = await downloadPrefix(s3, bucket, 'parquet/');
    cleanup.push(dir);
    const report = await readParquet([join(dir, 'parquet')], { values: ['trip_id'] });
    const ids = report.combined.pyarrow.values?.trip_id ?? [];
    assert.equal(ids.length, facts.rows, 'rows written');
    assert.equal(new Set(ids).size, facts.rows, 'distinct trip ids');
    assert.equal(Math.round(Number(report.combined.duckdb.columns.total_amount?.sum) * 100), facts.totalAmountCents);
  }

  function lastOf(exit: CliExit, msg: string): Record<string, unknown> | undefined {
    return exit.lines.filter((l) => l.msg === msg).at(-1);
  }

  test('a directory of JSON-lines files (one gzip) lands exactly once, and the processor exits 0 on its own', async () => {
    // Given four JSON-lines files and a file that is not JSON lines
    const input = await localInput(4, { 'notes.txt': 'not read\n' });
    const { bucket, table } = await resources();

    // When the processor reads them
    const exit = await startCliProcessor(envFor(input, bucket, table, 'file-once')).exited;

    // Then it exits 0 by itself, having read every file, and says which entry it skipped
    assert.equal(exit.code, 0, JSON.stringify(exit.lines.slice(-5)));
    const stopped = lastOf(exit, 'stopped') as { eventsIn: number; input: { filesDone: number; files: number; lines: number } };
    assert.equal(stopped.eventsIn, facts.rows);
    assert.deepEqual([stopped.input.filesDone, stopped.input.files, stopped.input.lines], [4, 4, facts.rows]);
    assert.ok(exit.lines.some((l) => l.msg === 'input entry not read' && String(l.name).endsWith('notes.txt')));
    assert.ok(exit.lines.some((l) => l.msg === 'status' && typeof (l.input as { bytes?: number } | undefined)?.bytes === 'number'), 'progress in the status line');
    await assertExactlyOnce(bucket);
  });

  test('killed with SIGKILL right after the first checkpoint is persisted, then started again: every event exactly once', async () => {
    // Given four files, and a processor that kills itself after checkpoint 1 (the first file's end) is persisted
    const input = await localInput(4);
    const { bucket, table } = await resources();
    const env = envFor(input, bucket, table, 'file-kill');
    const first = await startCliProcessor({ ...env, ETL_FAULT_KILL_AFTER_PHASE: 'persist:1' }).exited;
    assert.equal(first.signal, 'SIGKILL', JSON.stringify(first.lines.slice(-5)));

    // When it is started again
    const second = await startCliProcessor(env).exited;

    // Then the second run exits 0, read only what the first had not checkpointed, and the output holds every event once
    assert.equal(second.code, 0, JSON.stringify(second.lines.slice(-5)));
    const stopped = lastOf(second, 'stopped') as { eventsIn: number };
    assert.ok(stopped.eventsIn < facts.rows, `the second run resumed: it read ${stopped.eventsIn} of ${facts.rows}`);
    await assertExactlyOnce(bucket);
  });

  test('two processors on the same six files split them; each exits 0 once all are done, and every event is written once', async () => {
    // Given six files and two processors of the same application started together
    const input = await localInput(6);
    const { bucket, table } = await resources();
    const env = envFor(input, bucket, table, 'file-two');
    const [a, b] = await Promise.all([startCliProcessor(env).exited, startCliProcessor(env).exited]);

    // Then both exit 0, between them they read every event once, and both saw all six files done
    assert.equal(a.code, 0, JSON.stringify(a.lines.slice(-5)));
    assert.equal(b.code, 0, JSON.stringify(b.lines.slice(-5)));
    const stopped = [a, b].map((exit) => lastOf(exit, 'stopped') as { eventsIn: number; input: { filesDone: number } });
    assert.equal(stopped[0]!.eventsIn + stopped[1]!.eventsIn, facts.rows);
    assert.deepEqual(stopped.map((s) => s.input.filesDone), [6, 6]);
    await assertExactlyOnce(bucket);
  });

  test('an S3 prefix input, with a bad line: one dead letter naming the file and line, every good event once', async () => {
    // Given the sample as three objects under a prefix, the second with a line that is not JSON appended
    const { bucket, table } = await resources();
    const inputBucket = uniqueName('in');
    await services.createBucket(inputBucket);
    const files = await sampleFiles(3);
    const badLine = '{"vendor_id": oops';
    const bad = files[1]!;
    const badLineNumber = bad.body.toString('utf8').split('\n').length;
    bad.body = Buffer.concat([bad.body, Buffer.from(`${badLine}\n`)]);
    for (const f of files) await s3.send(new PutObjectCommand({ Bucket: inputBucket, Key: `trips/${f.name}`, Body: f.body }));

    // When the processor reads s3://bucket/trips/
    const input = `s3://${inputBucket}/trips/`;
    const exit = await startCliProcessor(envFor(input, bucket, table, 'file-s3')).exited;

    // Then it exits 0; every good event is written once and the bad line is one dead letter
    assert.equal(exit.code, 0, JSON.stringify(exit.lines.slice(-5)));
    await assertExactlyOnce(bucket);
    const errorKeys = await listKeys(s3, bucket, 'errors/');
    const letters = (await Promise.all(errorKeys.map(async (k) => Buffer.from(await getObject(s3, bucket, k)).toString('utf8'))))
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { reason: string; raw_base64: string; source: { source: string; stream: string; shard: string; position: string } });
    assert.equal(letters.length, 1);
    assert.equal(Buffer.from(letters[0]!.raw_base64, 'base64').toString('utf8'), badLine);
    assert.equal(letters[0]!.source.shard, `s3://${inputBucket}/trips/${bad.name}`);
    assert.equal(letters[0]!.source.position, `line ${badLineNumber}`);
  });

  test('configuration errors exit 2 naming InputFile and the value', async () => {
    const { bucket, table } = await resources();
    const dir = await mkdtemp(join(tmpdir(), 'file-source-'));
    cleanup.push(dir);
    await writeFile(join(dir, 'trips.csv'), 'a,b\n');
    for (const [value, says] of [
      [join(dir, 'missing'), /does not exist/],
      [join(dir, 'trips.csv'), /not a JSON-lines file/],
      ['s3://', /s3:\/\/bucket\/prefix/],
      ['https://example.com/x.jsonl', /no other URL scheme/],
    ] as const) {
      const exit = await startCliProcessor(envFor(value, bucket, table, 'file-config')).exited;
      assert.equal(exit.code, 2, `${value}: ${JSON.stringify(exit.lines.slice(-3))}`);
      const text = JSON.stringify(exit.lines);
      assert.ok(text.includes('InputFile') && text.includes(JSON.stringify(value).slice(1, -1)), `${value}: ${text.slice(0, 400)}`);
      assert.match(text, says);
    }
    // Two sources at once are refused too
    const both = await startCliProcessor({ ...envFor(dir, bucket, table, 'file-config'), InputKinesisStream: 'trips' }).exited;
    assert.equal(both.code, 2);
    assert.match(JSON.stringify(both.lines), /InputFile/);
  });
});
