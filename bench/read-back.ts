/**
 * Reading a bench's output back and checking it row for row: our objects downloaded from the
 * local S3, an independent oracle of what a run must write (scripts/expected-output.py, pyarrow
 * only, none of the processor's code), and the row-for-row comparison of two Parquet directories
 * (scripts/compare-parquet.py). Both scripts run in the read-back venv (.cache/venv, made by
 * scripts/python-env.sh).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { baseClientConfig, s3ForcePathStyle } from '../common/aws.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = join(ROOT, '.cache/venv/bin/python');
const SCHEMA = join(ROOT, 'processor/formats/schemas/trip-event.json');

/** What scripts/compare-parquet.py reports. */
export interface Comparison {
  readonly left: { files: number; bytes: number; rows: number; distinctKeys: number; schema: Record<string, string> };
  readonly right: { files: number; bytes: number; rows: number; distinctKeys: number; schema: Record<string, string> };
  readonly columnsOnlyLeft: string[];
  readonly columnsOnlyRight: string[];
  readonly typeDifferences: Record<string, [string, string]>;
  readonly compared: number;
  readonly mismatches: number;
  readonly firstMismatches: unknown[];
  readonly equal: boolean;
}

function python(): string {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run "bash scripts/python-env.sh"`);
  return PYTHON;
}

/** Downloads the objects under `prefix` of `bucket` into `dir` (the key below the prefix as the path); returns their count and bytes. */
export async function downloadObjects(bucket: string, prefix: string, dir: string): Promise<{ files: number; bytes: number }> {
  const s3 = new S3Client({ ...baseClientConfig(), forcePathStyle: s3ForcePathStyle() });
  let files = 0;
  let bytes = 0;
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const object of page.Contents ?? []) {
        const key = object.Key!;
        const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray();
        const path = join(dir, key.slice(prefix.length));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, body);
        files += 1;
        bytes += body.length;
      }
      token = page.NextContinuationToken;
    } while (token);
  } finally {
    s3.destroy();
  }
  return { files, bytes };
}

/** Compares two output directories row for row by `trip_id`, partition directory included (scripts/compare-parquet.py). */
export async function compareOutputs(left: string, right: string): Promise<Comparison> {
  const { stdout } = await promisify(execFile)(python(), [join(ROOT, 'scripts/compare-parquet.py'), '--key', 'trip_id', left, right], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Comparison;
}

/**
 * Writes into `dir` what a run over `texts` (valid TripEvent JSON lines) must output with partition
 * template `template` ('default' or a literal such as `all/`), computed by scripts/expected-output.py.
 */
export async function writeExpectedOutput(texts: readonly string[], template: 'default' | string, dir: string): Promise<{ rows: number; partitions: number }> {
  await mkdir(dir, { recursive: true });
  const events = join(dir, '..', `${dir.split('/').pop() ?? 'expected'}.jsonl`);
  await writeFile(events, `${texts.join('\n')}\n`);
  const { stdout } = await promisify(execFile)(python(), [join(ROOT, 'scripts/expected-output.py'), '--schema', SCHEMA, '--template', template, events, dir], { maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout) as { rows: number; partitions: number };
}

/** One line describing a comparison (EQUAL/DIFFERENT, rows, differing values, first differences). */
export function describeComparison(c: Comparison, leftName = 'left', rightName = 'right'): string {
  const rows = `${c.left.rows} vs ${c.right.rows} rows, ${c.mismatches} differing values over ${c.compared} rows (partition included)`;
  const columns = c.columnsOnlyLeft.length || c.columnsOnlyRight.length ? `; columns only in ${leftName} ${JSON.stringify(c.columnsOnlyLeft)}, only in ${rightName} ${JSON.stringify(c.columnsOnlyRight)}` : '';
  const types = Object.keys(c.typeDifferences).length ? `; Arrow types differ (${leftName}, ${rightName}): ${JSON.stringify(c.typeDifferences)}` : '; same Arrow types';
  return `${c.equal ? 'EQUAL' : 'DIFFERENT'}: ${rows}${columns}${types}${c.firstMismatches.length ? `; first: ${JSON.stringify(c.firstMismatches.slice(0, 3))}` : ''}`;
}
