/**
 * The S3 sink's native Parquet path: records are decoded, validated and appended to per-partition
 * columns by the native addon (formats/native.ts), so no JS object is made per event. Partition
 * paths are still rendered in JS, by the same template code as the JS path, once per distinct
 * partition key (the addon keys records by the values a path depends on, as the JS memo does).
 * Files, multipart uploads and the two-phase commit are the JS path's (PartitionedWriter).
 *
 * A record the addon refuses is decoded by the JS decoder: a refusal there gives the dead-letter
 * reason; an event the JS decoder accepts is written through its canonical JSON (exact longs as
 * digit strings, timestamps as epoch ms), which the addon takes. The same canonical form carries
 * events decoded by the pipeline when other sinks need JS values too (`write`).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../../../common/log.js';
import { describeError } from '../../../common/errors.js';
import type { S3SinkConfig } from '../../config/types.js';
import { compilePartitionTemplate } from '../../config/partition-template.js';
import { createDecoder, type Decoder } from '../../formats/decode.js';
import { EncodeError } from '../../formats/errors.js';
import { NativeHeldBody, nativeBodyScanner, type NativeColumnar, type NativeIngestResult, type NativeKeyValue, type NativeModule } from '../../formats/native.js';
import type { ParquetCompression } from '../../formats/parquet-wasm.js';
import { PARQUET_CONTENT_TYPE } from '../../formats/file-format.js';
import type { EventSchema, EventValue } from '../../formats/types.js';
import type { RawRecordSink, SinkContext, SinkRecord } from '../../lifecycle.js';
import type { SourceRecord } from '../../sources/types.js';
import type { BodyScanner, HeldBody } from '../../sources/kinesis/get-records.js';
import { createS3Client, dataWriterOptions, PartitionedS3Committer, type S3PendingCommit } from './s3-sink.js';
import type { PartBuilder, PartitionedWriterOptions, PlacedItem } from './partitioned-writer.js';

/** Written into each file's `created_by`. */
export const NATIVE_CREATED_BY = 'streaming-etl (native: arrow-rs/parquet 60)';
/** Partition paths kept (with their slots) before the mapping starts over at a checkpoint. */
const MAX_SLOTS = 65_536;

/** What the native Parquet sink needs. */
export interface NativeParquetSinkOptions {
  readonly config: S3SinkConfig;
  readonly schema: EventSchema;
  readonly native: NativeModule;
  readonly compression: ParquetCompression;
  readonly jobStartMs: number;
  readonly client?: S3Client;
  readonly region?: string;
}

/** One file's rows, held by the addon in the partition's slot. */
class NativePart implements PartBuilder<number> {
  readonly #columnar: NativeColumnar;
  readonly #slot: number;
  readonly #partition: string;
  #count = 0;

  constructor(columnar: NativeColumnar, slot: number, partition: string) {
    this.#columnar = columnar;
    this.#slot = slot;
    this.#partition = partition;
  }

  append(rows: number): void {
    this.#count += rows;
  }

  get count(): number {
    return this.#count;
  }

  get estimatedBytes(): number {
    return this.#columnar.estimatedBytes(this.#slot);
  }

  finish(): Promise<Uint8Array> {
    const held = this.#columnar.rows(this.#slot);
    if (held !== this.#count) {
      return Promise.reject(new EncodeError(`native Parquet file of "${this.#partition}": the addon holds ${held} rows, the file counted ${this.#count}`));
    }
    try {
      return Promise.resolve(this.#columnar.finish(this.#slot));
    } catch (error) {
      return Promise.reject(new EncodeError(`native Parquet writer could not write ${this.#count} rows of "${this.#partition}": ${describeError(error)}`, { cause: error }));
    }
  }
}

/** Partitioned Parquet on S3 written by the native addon, exactly once. */
export class NativeParquetS3Sink extends PartitionedS3Committer<number> implements RawRecordSink {
  readonly name = 's3';
  readonly #o: NativeParquetSinkOptions;
  readonly #ownsClient: boolean;
  readonly #columnar: NativeColumnar;
  readonly #decode: Decoder;
  readonly #render: (values: readonly NativeKeyValue[]) => string;
  readonly #canonical: (values: readonly EventValue[]) => string;
  readonly #slotOfPath = new Map<string, number>();
  #pathOfSlot: string[] = [];
  #reject: SinkContext['reject'] | undefined;
  #log: Logger | undefined;

  constructor(options: NativeParquetSinkOptions) {
    super(options.client ?? createS3Client(options.region));
    this.#o = options;
    this.#ownsClient = options.client === undefined;
    const { config, schema } = options;
    const names = schema.fields.map((f) => f.name);
    const template = compilePartitionTemplate(config.partitionTemplate, names);
    const levels = template.keyLevels((name) => names.indexOf(name));
    const idIndex = schema.idField === undefined ? -1 : names.indexOf(schema.idField);
    this.#columnar = new options.native.Columnar({
      fields: schema.fields.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable === true })),
      keySlots: levels.map((l) => ({ field: l.index, unit: l.unit })),
      compression: options.compression,
      createdBy: NATIVE_CREATED_BY,
      ...(idIndex >= 0 ? { noDictionaryField: idIndex } : {}),
    });
    // A tuple holds the values of the fields the template reads, in the levels' order.
    const position = new Map(levels.map((l, k) => [names[l.index] as string, k]));
    const context = { jobStartMs: options.jobStartMs };
    this.#render = (values) => template.render((name) => { const k = position.get(name); return k === undefined ? undefined : values[k]; }, context);
    this.#decode = createDecoder(schema);
    this.#canonical = canonicalJson(schema);
  }

  protected writerOptions(log: Logger): Omit<PartitionedWriterOptions<number>, 'runId'> {
    return dataWriterOptions<number>(this.client, this.#o.config, log, { extension: '.parquet', contentType: PARQUET_CONTENT_TYPE }, (partition) => {
      const slot = this.#slotOfPath.get(partition);
      if (slot === undefined) throw new EncodeError(`native Parquet: no slot for partition "${partition}"`);
      return new NativePart(this.#columnar, slot, partition);
    });
  }

  override async start(context: SinkContext): Promise<void> {
    this.#reject = context.reject;
    this.#log = context.log;
    await super.start(context);
  }

  async writeRaw(records: readonly SourceRecord[], reject: (record: SourceRecord, reason: string) => void): Promise<number> {
    const data = records.map((r) => r.data);
    return this.#write((indices) => this.#columnar.ingest(data, indices), (i) => records[i] as SourceRecord, reject, (i) => data[i] as Uint8Array);
  }

  /** Scans GetRecords bodies for {@link writeKinesisBody} (the addon's, which holds them). */
  get scanKinesisBody(): BodyScanner {
    return nativeBodyScanner(this.#o.native);
  }

  async writeKinesisBody(body: HeldBody, records: () => readonly SourceRecord[], reject: (index: number, reason: string) => void): Promise<number> {
    if (!(body instanceof NativeHeldBody)) throw new EncodeError('native Parquet: a Kinesis body not scanned by the addon (scanKinesisBody)');
    // The records are parsed in JS (`records()`) only if the addon refuses some.
    return this.#write(
      (indices) => this.#columnar.ingestKinesis(body.handle, indices),
      (i) => i,
      reject,
      (i) => (records()[i] as SourceRecord).data,
    );
  }

  /**
   * Writes what `ingest` decodes (record `i` is `item(i)`); the records the addon refuses go to the
   * JS decoder (their bytes are `bytes(i)`): a refusal there is rejected with its reason, an
   * accepted event is written through its canonical JSON.
   */
  async #write<R>(
    ingest: (indices?: Uint32Array) => NativeIngestResult,
    item: (index: number) => R,
    reject: (record: R, reason: string) => void,
    bytes: (index: number) => Uint8Array,
  ): Promise<number> {
    const runs = new Map<number, number>();
    const first = this.#ingest(ingest, runs, (i, reason) => reject(item(i), reason));
    let written = first.accepted;
    if (first.refused.length > 0) {
      const accepted: R[] = [];
      const canonical: Uint8Array[] = [];
      for (const i of first.refused) {
        const result = this.#decode(bytes(i));
        if (!result.ok) reject(item(i), result.reason);
        else {
          accepted.push(item(i));
          canonical.push(Buffer.from(this.#canonical(result.event.values), 'utf8'));
        }
      }
      if (canonical.length > 0) {
        const again = this.#ingest((indices) => this.#columnar.ingest(canonical, indices), runs, (i, reason) => reject(accepted[i] as R, reason));
        written += again.accepted;
        for (const i of again.refused) reject(accepted[i] as R, this.#refusedCanonical(canonical[i] as Uint8Array));
      }
    }
    await this.#append(runs);
    return written;
  }

  async write(records: readonly SinkRecord[]): Promise<void> {
    const runs = new Map<number, number>();
    const reject = (record: SinkRecord, reason: string): void => this.#reject?.(record, reason);
    const canonical = records.map((r) => Buffer.from(this.#canonical(r.event.values), 'utf8'));
    const result = this.#ingest((indices) => this.#columnar.ingest(canonical, indices), runs, (i, reason) => reject(records[i] as SinkRecord, reason));
    for (const i of result.refused) reject(records[i] as SinkRecord, this.#refusedCanonical(canonical[i] as Uint8Array));
    await this.#append(runs);
  }

  /** A bug, never expected: the addon refused the canonical form of an event the JS decoder accepted. */
  #refusedCanonical(bytes: Uint8Array): string {
    const text = Buffer.from(bytes).toString('utf8');
    this.#log?.error('the native decoder refused the canonical form of an event the JS decoder accepted (a bug; the record goes to the dead letters)', { canonical: text.slice(0, 500) });
    return `internal: the native decoder refused the canonical form of a valid event: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
  }

  /**
   * Ingests (`ingest()`: every record), binding new partition tuples to slots; adds the rows per slot
   * to `runs`. Records whose partition cannot be rendered go to `reject` with the reason; the
   * refused are returned for the JS decoder.
   */
  #ingest(ingest: (indices?: Uint32Array) => NativeIngestResult, runs: Map<number, number>, reject: (index: number, reason: string) => void): { accepted: number; refused: Uint32Array } {
    const columnar = this.#columnar;
    const first = ingest();
    let accepted = first.accepted;
    addRuns(runs, first.runs);
    if (first.unknown.length > 0) {
      const failed = new Map<number, string>();
      first.tuples.forEach((values, tuple) => {
        let path: string;
        try {
          path = this.#render(values);
        } catch (error) {
          failed.set(tuple, `partition: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        columnar.bind(tuple, this.#slotFor(path));
      });
      const retry: number[] = [];
      for (let k = 0; k < first.unknown.length; k += 1) {
        const index = first.unknown[k] as number;
        const reason = failed.get(first.unknownTuple[k] as number);
        if (reason === undefined) retry.push(index);
        else reject(index, reason);
      }
      if (retry.length > 0) {
        const second = ingest(Uint32Array.from(retry));
        if (second.unknown.length > 0 || second.refused.length > 0 || second.accepted !== retry.length) {
          throw new EncodeError(`native Parquet: ${retry.length} records of bound partitions were not all appended (${second.accepted} were): a bug`);
        }
        accepted += second.accepted;
        addRuns(runs, second.runs);
      }
    }
    return { accepted, refused: first.refused };
  }

  #slotFor(path: string): number {
    let slot = this.#slotOfPath.get(path);
    if (slot === undefined) {
      slot = this.#pathOfSlot.length;
      this.#pathOfSlot.push(path);
      this.#slotOfPath.set(path, slot);
    }
    return slot;
  }

  async #append(runs: ReadonlyMap<number, number>): Promise<void> {
    const placed: PlacedItem<number>[] = [];
    for (const [slot, rows] of runs) placed.push({ partition: this.#pathOfSlot[slot] as string, item: rows });
    await this.started().append(placed);
  }

  override async preCommit(checkpointId: number): Promise<S3PendingCommit | undefined> {
    const pending = await super.preCommit(checkpointId);
    // Every file is rolled now, so every slot is empty: a mapping grown too large starts over.
    if (this.#pathOfSlot.length > MAX_SLOTS) {
      this.#columnar.reset();
      this.#slotOfPath.clear();
      this.#pathOfSlot = [];
    }
    return pending;
  }

  override async close(): Promise<void> {
    if (this.#ownsClient) this.client.destroy();
  }
}

function addRuns(runs: Map<number, number>, pairs: Int32Array): void {
  for (let k = 0; k + 1 < pairs.length; k += 2) {
    const slot = pairs[k] as number;
    runs.set(slot, (runs.get(slot) ?? 0) + (pairs[k + 1] as number));
  }
}

/**
 * The canonical JSON of a decoded event, which the native decoder accepts with the same values:
 * longs as strings of digits (exact beyond 2^53), timestamps as epoch ms, -0 kept, strings as
 * `JSON.stringify` writes them (a lone surrogate escaped; both paths write it as U+FFFD).
 */
export function canonicalJson(schema: EventSchema): (values: readonly EventValue[]) => string {
  const keys = schema.fields.map((f, i) => `${i === 0 ? '{' : ','}${JSON.stringify(f.name)}:`);
  return (values) => {
    let out = '';
    for (let i = 0; i < keys.length; i += 1) {
      out += keys[i] as string;
      const value = values[i];
      switch (typeof value) {
        case 'number':
          out += Object.is(value, -0) ? '-0' : String(value);
          break;
        case 'bigint':
          out += `"${value}"`;
          break;
        case 'string':
          out += JSON.stringify(value);
          break;
        case 'boolean':
          out += value ? 'true' : 'false';
          break;
        default:
          out += 'null';
      }
    }
    return keys.length === 0 ? '{}' : `${out}}`;
  };
}
