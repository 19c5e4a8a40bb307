/**
 * The file source: a bounded input of JSON-lines files, from a local file or directory or an S3
 * prefix (`InputFile`). Each file is a partition with its own lease (its id is the file's path or
 * s3:// URL) and checkpoint position (`<lines>:<bytes>`, see ./lines.ts), so the lease manager and
 * the checkpoint coordinator give exactly-once output across restarts, and several runs split the
 * files between them as they split Kinesis shards.
 *
 * A file read to its end is checkpointed as SHARD_END and its lease released. Once every file's
 * lease holds SHARD_END (whichever run read it), `exhausted` resolves: the pipeline stops, takes its
 * final checkpoint, and the processor exits 0 (a bounded job finishing).
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { describeError } from '../../../common/errors.js';
import type { Logger } from '../../../common/log.js';
import { retry } from '../../../common/retry.js';
import { LeaseManager, type LeaseTimings } from '../../checkpoint/lease-manager.js';
import type { LeaseTable } from '../../checkpoint/lease-table.js';
import { SHARD_END, type LeaseItem } from '../../checkpoint/types.js';
import { SourceError } from '../errors.js';
import { PartitionReaders, type PartitionReader } from '../partition-readers.js';
import type { Source, SourceContext, SourceRecord } from '../types.js';
import { FILE_START, formatFilePosition, isBlank, LineSplitter, parseFilePosition, type FilePosition } from './lines.js';

/** The extensions read (each also with `.gz`). */
export const FILE_EXTENSIONS = ['.json', '.jsonl', '.ndjson'] as const;

/** How a file name is read: plain, gzip, or not at all. */
export function fileKind(name: string): 'plain' | 'gzip' | undefined {
  const lower = name.toLowerCase();
  const base = lower.endsWith('.gz') ? lower.slice(0, -3) : lower;
  if (!FILE_EXTENSIONS.some((ext) => base.endsWith(ext))) return undefined;
  return lower.endsWith('.gz') ? 'gzip' : 'plain';
}

/** What the file source needs. */
export interface FileSourceOptions {
  /** A local path or `s3://bucket/prefix`. */
  readonly input: string;
  readonly log: Logger;
  readonly leases: LeaseTable;
  readonly timings: LeaseTimings;
  /** For an s3:// input. */
  readonly s3?: S3Client;
  /** Most lines per emitted batch. @default 1000 */
  readonly batchLines?: number;
  /** A batch is emitted once its lines hold this many bytes. @default 65536 */
  readonly batchBytes?: number;
}

interface InputFile {
  readonly id: string;
  readonly kind: 'plain' | 'gzip';
  /** Opens the file's raw bytes from a byte offset (plain files) or its start. */
  open(fromByte: number): Promise<Readable>;
}

/** Lists the input's files (sorted), and the entries not read with the reason. */
export async function listInputFiles(input: string, s3?: S3Client): Promise<{ files: InputFile[]; skipped: { name: string; reason: string }[] }> {
  const files: InputFile[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const add = (id: string, open: (fromByte: number) => Promise<Readable>): void => {
    const kind = fileKind(id);
    if (kind === undefined) skipped.push({ name: id, reason: `not a JSON-lines file (${FILE_EXTENSIONS.join(', ')}, each optionally .gz)` });
    else files.push({ id, kind, open: (fromByte) => open(kind === 'plain' ? fromByte : 0) });
  };
  const s3Match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(input);
  if (s3Match) {
    const bucket = s3Match[1] as string;
    const prefix = s3Match[2] as string;
    if (!s3) throw new SourceError('an s3:// InputFile needs an S3 client');
    const client = s3;
    const keys: { key: string; size: number }[] = [];
    let token: string | undefined;
    try {
      do {
        const next = token;
        const page = await retry(() => client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: next })));
        for (const object of page.Contents ?? []) if (object.Key !== undefined && !(object.Key.endsWith('/') && (object.Size ?? 0) === 0)) keys.push({ key: object.Key, size: object.Size ?? 0 });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw new SourceError(`cannot list InputFile ${input}`, { cause: error });
    }
    for (const { key, size } of keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
      add(`s3://${bucket}/${key}`, async (fromByte) => {
        // Read to its end before the end was checkpointed: a ranged GET past the end would be refused.
        if (fromByte > 0 && fromByte >= size) return Readable.from([]);
        const response = await retry(() => client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(fromByte > 0 ? { Range: `bytes=${fromByte}-` } : {}) })));
        const body = response.Body;
        if (body instanceof Readable) return body;
        if (body && typeof (body as { transformToWebStream?: unknown }).transformToWebStream === 'function') {
          return Readable.fromWeb((body as { transformToWebStream(): WebReadableStream }).transformToWebStream());
        }
        throw new SourceError(`GetObject of s3://${bucket}/${key} returned no body`);
      });
    }
    return { files, skipped };
  }
  const root = resolvePath(input);
  const openLocal = (path: string) => (fromByte: number) =>
    new Promise<Readable>((resolve, reject) => {
      const stream = createReadStream(path, { start: fromByte });
      stream.once('open', () => resolve(stream));
      stream.once('error', (error) => reject(new SourceError(`cannot open ${path}`, { cause: error })));
    });
  let info;
  try {
    info = await stat(root);
  } catch (error) {
    throw new SourceError(`cannot read InputFile ${input}`, { cause: error });
  }
  if (!info.isDirectory()) {
    add(root, openLocal(root));
    return { files, skipped };
  }
  const entries = (await readdir(root, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.name.startsWith('.')) skipped.push({ name: path, reason: 'hidden file' });
    else if (entry.isDirectory()) skipped.push({ name: path, reason: 'a directory (directories are not read recursively)' });
    else add(path, openLocal(path));
  }
  return { files, skipped };
}

/** Reads the files whose leases this run holds; resolves `exhausted` once every file is done. */
export class FileSource implements Source {
  readonly description: string;
  readonly failed: Promise<Error>;
  readonly exhausted: Promise<void>;
  readonly #o: FileSourceOptions;
  readonly #readers = new PartitionReaders<PartitionReader>();
  #files = new Map<string, InputFile>();
  #fail!: (error: Error) => void;
  #exhaust!: () => void;
  #manager: LeaseManager | undefined;
  #context: SourceContext | undefined;
  #stopped = false;
  #done = new Set<string>();
  #lines = 0;
  #bytes = 0;

  constructor(options: FileSourceOptions) {
    this.#o = options;
    this.description = `file:${options.input}`;
    this.failed = new Promise((resolve) => {
      this.#fail = resolve;
    });
    this.exhausted = new Promise((resolve) => {
      this.#exhaust = resolve;
    });
  }

  async start(context: SourceContext): Promise<void> {
    this.#context = context;
    const { files, skipped } = await listInputFiles(this.#o.input, this.#o.s3);
    for (const s of skipped) this.#o.log.warn('input entry not read', { name: s.name, reason: s.reason });
    if (files.length === 0) throw new SourceError(`InputFile ${this.#o.input} holds no JSON-lines file (${FILE_EXTENSIONS.join(', ')}, each optionally .gz)${skipped.length > 0 ? `; not read: ${skipped.map((s) => s.name).join(', ')}` : ''}`);
    this.#files = new Map(files.map((f) => [f.id, f]));
    this.#o.log.info('input files', { input: this.#o.input, files: files.length, gzip: files.filter((f) => f.kind === 'gzip').length });
    this.#manager = new LeaseManager({
      ...this.#o.timings,
      leases: this.#o.leases,
      log: this.#o.log.child('leases'),
      sync: (known) => this.#sync(known),
      onTaken: (items) => this.#taken(items),
      onHandOver: (partitions) => this.#handOver(partitions),
      onDeadRun: (runId) => context.deadRun(runId),
      onLost: (error) => this.#fail(error),
    });
    await this.#manager.start();
  }

  /** Files done (by any run), files, lines and bytes read by this run. */
  progress(): Record<string, number> {
    return { filesDone: this.#done.size, files: this.#files.size, lines: this.#lines, bytes: this.#bytes };
  }

  millisBehindLatest(): number {
    return 0;
  }

  activeShards(): number {
    return this.#readers.size;
  }

  stalledShards(): readonly string[] {
    return [];
  }

  async checkpointed(_positions: ReadonlyMap<string, string>, finished: readonly string[]): Promise<void> {
    if (finished.length === 0 || !this.#manager) return;
    await this.#manager.release(finished);
    for (const f of finished) this.#done.add(f);
    this.#o.log.info('files done', { files: finished, done: this.#done.size, of: this.#files.size });
    if (!this.#stopped) this.#manager.balanceNow().catch((error: unknown) => this.#o.log.warn('balance after a file ended failed', { error: describeError(error) }));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#manager?.stopTaking();
    await this.#readers.stop();
  }

  async close(): Promise<void> {
    await this.#manager?.close();
  }

  async abandon(): Promise<void> {
    await this.stop();
    await this.#manager?.abandon();
  }

  /** Creates the missing leases; notices when every file is done. */
  async #sync(known: readonly LeaseItem[]): Promise<void> {
    const byId = new Map(known.map((l) => [l.partition, l]));
    for (const id of this.#files.keys()) {
      if (byId.has(id)) continue;
      if (await this.#o.leases.store.createLease(id, [], FILE_START)) this.#o.log.info('lease created', { file: id });
    }
    const done = [...this.#files.keys()].filter((id) => byId.get(id)?.checkpoint === SHARD_END);
    for (const id of done) this.#done.add(id);
    if (done.length === this.#files.size) {
      this.#o.log.info('every input file was read to its end and checkpointed', { files: this.#files.size });
      this.#exhaust();
    }
  }

  async #taken(items: readonly LeaseItem[]): Promise<void> {
    // Leases of other inputs of the same application are not this source's: hand them back.
    const foreign = items.filter((i) => !this.#files.has(i.partition));
    if (foreign.length > 0) throw new SourceError(`the lease table holds partitions that are not files of InputFile ${this.#o.input}: ${foreign.map((i) => i.partition).join(', ')}; use another ApplicationName or CheckpointTable`);
    const positions = await this.#context!.assigned(items);
    for (const item of items) {
      const position = positions.get(item.partition) ?? item.checkpoint;
      if (!this.#stopped) this.#startReader(this.#files.get(item.partition)!, position);
    }
  }

  async #handOver(partitions: readonly string[]): Promise<void> {
    await this.#readers.stop(partitions);
    await this.#context!.revoked(partitions);
  }

  #startReader(file: InputFile, position: string): void {
    const from = parseFilePosition(file.id, position);
    if (!from) return;
    this.#o.log.info('reading file', { file: file.id, fromLine: from.lines, fromByte: from.bytes });
    const abort = new AbortController();
    const reader: PartitionReader = { abort, done: Promise.resolve() };
    reader.done = this.#read(file, from, abort.signal).then(
      (outcome) => {
        this.#readers.remove(file.id);
        if (outcome === 'ended') this.#o.log.info('file read to its end; its lease is released after the next checkpoint', { file: file.id });
      },
      (error: unknown) => {
        this.#readers.remove(file.id);
        if (!abort.signal.aborted) this.#fail(new SourceError(`reading ${file.id} failed`, { cause: error }));
      },
    );
    this.#readers.add(file.id, reader);
  }

  async #read(file: InputFile, from: FilePosition, signal: AbortSignal): Promise<'ended' | 'stopped'> {
    const emit = this.#context!.emit;
    const max = this.#o.batchLines ?? 1000;
    const maxBytes = this.#o.batchBytes ?? 65_536;
    let batchBytes = 0;
    const raw = await file.open(from.bytes);
    const stream = file.kind === 'gzip' ? raw.pipe(createGunzip()) : raw;
    const splitter = new LineSplitter(from);
    let skip = file.kind === 'gzip' ? from.bytes : 0;
    let records: SourceRecord[] = [];
    let last = from;
    const origin = (number: number): SourceRecord['origin'] => ({ source: 'file', stream: this.#o.input, shard: file.id, position: `line ${number}` });
    const flush = async (): Promise<void> => {
      const batch = { shard: file.id, records, position: formatFilePosition(last) };
      records = [];
      batchBytes = 0;
      await emit(batch);
    };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (signal.aborted) return 'stopped';
        let bytes: Uint8Array = chunk;
        if (skip > 0) {
          const n = Math.min(skip, bytes.length);
          skip -= n;
          bytes = bytes.subarray(n);
          if (bytes.length === 0) continue;
        }
        this.#bytes += bytes.length;
        for (const line of splitter.push(bytes)) {
          this.#lines += 1;
          last = line.after;
          if (!isBlank(line.data)) {
            records.push({ data: line.data, origin: origin(line.number) });
            batchBytes += line.data.length;
          }
          if (records.length >= max || batchBytes >= maxBytes) {
            if (signal.aborted) return 'stopped';
            await flush();
          }
        }
      }
      if (skip > 0) throw new SourceError(`${file.id} is shorter than its checkpoint (${formatFilePosition(from)}): was it replaced?`);
      const tail = splitter.end();
      if (tail) {
        this.#lines += 1;
        last = tail.after;
        if (!isBlank(tail.data)) records.push({ data: tail.data, origin: origin(tail.number) });
      }
      if (signal.aborted) return 'stopped';
      if (records.length > 0) await flush();
      await emit({ shard: file.id, records: [], position: SHARD_END });
      return 'ended';
    } finally {
      stream.destroy();
      raw.destroy();
    }
  }
}
