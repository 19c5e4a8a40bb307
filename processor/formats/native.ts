/**
 * The native columnar path (`native/`, Rust through N-API): decodes and validates JSON records
 * straight into per-partition typed columns and writes them as Parquet with the Rust `parquet`
 * crate (the library parquet-wasm compiles to WebAssembly), with no JS object, string or BigInt per
 * event. It accepts exactly what the JS decoder (decode.ts) accepts or less: a record it refuses is
 * handed back, decoded by the JS decoder (which gives the dead-letter reason, or accepts it), so a
 * record is never judged differently from the JS path (test/unit/native-columnar.test.ts compares
 * the two on the real sample and on edge cases).
 *
 * The addon is built by `scripts/build-native.sh` (npm ci runs it when cargo is installed) into
 * `native/streaming-etl-native.node`; `ETL_NATIVE_ADDON` names another file. Where it is missing
 * the S3 sink writes Parquet with parquet-wasm instead (logged at start).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EncodeError } from './errors.js';
import type { ParquetCompression } from './parquet-wasm.js';
import type { FieldType } from './types.js';
import type { BodyScanner, HeldBody, ScannedBody } from '../sources/kinesis/get-records.js';

/** The environment variable naming the addon file instead of `native/streaming-etl-native.node`. */
export const NATIVE_ADDON_ENV = 'ETL_NATIVE_ADDON';
/** The addon's file, relative to the package root. */
export const NATIVE_ADDON_FILE = join('native', 'streaming-etl-native.node');

/** A partition-key slot: a schema field and what of its value a partition depends on (see partition-template.ts). */
export interface NativeKeySlot {
  /** Index of the field in the schema. */
  readonly field: number;
  /** 0: the value itself; otherwise the epoch-ms value in whole units of this many ms. */
  readonly unit: number;
}

/** What a {@link NativeColumnar} is built with. */
export interface NativeColumnarOptions {
  readonly fields: readonly { readonly name: string; readonly type: FieldType; readonly nullable: boolean }[];
  readonly keySlots: readonly NativeKeySlot[];
  readonly compression: ParquetCompression;
  readonly createdBy: string;
  readonly noDictionaryField?: number;
}

/** A value of a partition-key tuple, as the JS decoder would have produced it. */
export type NativeKeyValue = number | bigint | string | boolean | null;

/** The outcome of one {@link NativeColumnar.ingest}. */
export interface NativeIngestResult {
  /** Rows appended to slots by this call. */
  readonly accepted: number;
  /** Indices of the records the native decoder refuses: the JS decoder decides them. */
  readonly refused: Uint32Array;
  /** Indices of valid records whose partition tuple has no slot yet (not appended). */
  readonly unknown: Uint32Array;
  /** Parallel to `unknown`: the index of the record's tuple in `tuples`. */
  readonly unknownTuple: Uint32Array;
  /** Per new tuple: the key slots' values of its first record. */
  readonly tuples: readonly (readonly NativeKeyValue[])[];
  /** `[slot, rows added, slot, rows added, …]`. */
  readonly runs: Int32Array;
}

/** Decoded columns per partition slot, and their Parquet files. */
export interface NativeColumnar {
  ingest(records: readonly Uint8Array[], indices?: Uint32Array): NativeIngestResult;
  /**
   * As `ingest`, for the records of a Kinesis GetRecords response body held by
   * {@link NativeModule.scanGetRecords} (their base64 `Data` decoded natively); indices count the
   * response's records. Throws when the body was released.
   */
  ingestKinesis(body: NativeBodyHandle, indices?: Uint32Array): NativeIngestResult;
  /** Binds a tuple of the last ingest to a slot (created on first use). */
  bind(tuple: number, slot: number): void;
  rows(slot: number): number;
  estimatedBytes(slot: number): number;
  /** The Parquet file of the slot's rows; the slot is emptied. */
  finish(slot: number): Buffer;
  /** Forgets every tuple binding. */
  reset(): void;
}

/** A GetRecords body the addon holds (joined, its records found); opaque to JS. */
export interface NativeBodyHandle {
  readonly [nativeBodyBrand]: never;
}
declare const nativeBodyBrand: unique symbol;

/** What the addon's scan of a GetRecords body says: as {@link ScannedBody}, with the body it holds. */
export interface NativeScanResult extends Omit<ScannedBody, 'body'> {
  /** Absent when there is nothing for `ingestKinesis` to read (no records, KPL aggregates, child shards). */
  readonly body?: NativeBodyHandle | null;
}

/** The addon's exports. */
export interface NativeModule {
  readonly Columnar: new (options: NativeColumnarOptions) => NativeColumnar;
  /**
   * Reads a GetRecords response body's envelope from the chunks it arrived in (joined in the
   * addon's memory, not where V8 counts it; sources/kinesis/get-records.ts); null when it is not
   * one it takes.
   */
  readonly scanGetRecords: (chunks: readonly Buffer[]) => NativeScanResult | null;
  /** A copy of a held body's bytes. Throws once it is released. */
  readonly heldBodyBytes: (body: NativeBodyHandle) => Buffer;
  /** Frees a held body (its memory goes to the next scans). */
  readonly releaseHeldBody: (body: NativeBodyHandle) => void;
}

/** A body the addon holds, as the Kinesis source and the pipeline see it. */
export class NativeHeldBody implements HeldBody {
  readonly handle: NativeBodyHandle;
  readonly #native: NativeModule;

  constructor(native: NativeModule, handle: NativeBodyHandle) {
    this.#native = native;
    this.handle = handle;
  }

  bytes(): Buffer {
    return this.#native.heldBodyBytes(this.handle);
  }

  release(): void {
    this.#native.releaseHeldBody(this.handle);
  }
}

/** The Kinesis source's body scanner on the addon: bodies with records are held for `ingestKinesis`. */
export function nativeBodyScanner(native: NativeModule): BodyScanner {
  return (chunks) => {
    const scanned = native.scanGetRecords(chunks);
    if (scanned === null) return null;
    const { body, ...fields } = scanned;
    return body === undefined || body === null ? fields : { ...fields, body: new NativeHeldBody(native, body) };
  };
}

/** Where the addon is looked for: `ETL_NATIVE_ADDON`, else `native/streaming-etl-native.node` under the package root. */
export function nativeAddonPath(): string {
  const given = process.env[NATIVE_ADDON_ENV];
  if (given !== undefined && given !== '') return resolve(given);
  // The package root: the first directory above this file with a package.json (this file runs
  // from processor/formats/ under tsx and from dist/processor/formats/ when compiled).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, NATIVE_ADDON_FILE);
    const parent = dirname(dir);
    if (parent === dir) return resolve(NATIVE_ADDON_FILE);
    dir = parent;
  }
}

let loaded: { readonly module: NativeModule } | { readonly error: EncodeError } | undefined;

/** Loads the addon once per process; returns the module, or an error saying why it cannot be used. */
export function loadNative(): NativeModule | EncodeError {
  if (loaded === undefined) {
    const path = nativeAddonPath();
    try {
      if (!existsSync(path)) throw new Error(`${path} does not exist (build it with: bash scripts/build-native.sh)`);
      const module = createRequire(import.meta.url)(path) as Partial<NativeModule>;
      if (typeof module.Columnar !== 'function' || typeof module.scanGetRecords !== 'function' || typeof module.releaseHeldBody !== 'function') throw new Error(`${path} has no Columnar class or scanGetRecords or releaseHeldBody function: not this project's addon, or an old build`);
      loaded = { module: module as NativeModule };
    } catch (error) {
      loaded = { error: new EncodeError(`the native Parquet addon cannot be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error }) };
    }
  }
  return 'module' in loaded ? loaded.module : loaded.error;
}
