/**
 * Reads Parquet files back with independent readers (pyarrow and DuckDB, through
 * scripts/read-parquet.py in .cache/venv, which `npm test` creates first).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PYTHON = join(ROOT, '.cache/venv/bin/python');

/** What one reader sees. */
export interface Reading {
  readonly rows: number;
  readonly schema: Readonly<Record<string, string>>;
  readonly columns: Readonly<Record<string, { nulls: number; min?: unknown; max?: unknown; sum?: number | string }>>;
  readonly values?: Readonly<Record<string, unknown[]>>;
  readonly distinct?: Readonly<Record<string, unknown[]>>;
  /** pyarrow, one file only: whether the first row group's chunk of each column has a dictionary page. */
  readonly dictionary?: Readonly<Record<string, boolean>>;
}

/** The read-back report of scripts/read-parquet.py. */
export interface ParquetReport {
  readonly files: readonly { path: string; pyarrow: Reading; duckdb: Reading }[];
  readonly combined: { files: number; pyarrow: Reading; duckdb: Reading };
}

/** Reads files/directories with pyarrow and DuckDB. Fails clearly when the venv is missing. */
export async function readParquet(paths: readonly string[], options: { values?: readonly string[]; distinct?: readonly string[] } = {}): Promise<ParquetReport> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run "bash scripts/python-env.sh" (npm test does)`);
  const args = [join(ROOT, 'scripts/read-parquet.py')];
  for (const v of options.values ?? []) args.push('--values', v);
  for (const d of options.distinct ?? []) args.push('--distinct', d);
  args.push(...paths);
  const { stdout } = await promisify(execFile)(PYTHON, args, { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout) as ParquetReport;
}
