/**
 * GetRecords without the SDK's response deserializer. The call still goes through the client's
 * whole middleware stack (credentials, SigV4 signing, endpoint resolution, retries, timeouts,
 * abort signal); only a successful (2xx) response body is parsed here instead of by the SDK's
 * schema deserializer, which cost about a fifth of the processor's CPU (a generic struct walker
 * and a base64 regex over every record's data).
 *
 * How: two middlewares on the command. The inner one (deserialize step, priority low: between
 * the SDK's deserializer and the HTTP handler) reads a 2xx body, parses it with
 * {@link parseGetRecordsBody}, keeps the result in the call's context and hands the SDK's
 * deserializer an empty object (`{}`) instead, so the SDK still builds `$metadata`. The outer one
 * (deserialize step, priority high: around the SDK's deserializer, inside retries, so per
 * attempt) puts the parsed fields into the output. Error responses
 * and bodies that do not parse are left to the SDK, byte for byte, so its errors are unchanged.
 *
 * The parse avoids `JSON.parse` over the records' data: in the response, every record's `Data`
 * is a JSON string holding base64. Base64's alphabet (`A-Z a-z 0-9 + / =`) holds no character
 * JSON must escape (`"`, `\`, controls), so a `"Data":"` key is followed by the base64 text up to
 * the next `"`. JSON *may* still escape `/` as `\/`: a span holding a backslash makes the whole
 * body go through plain `JSON.parse`. The rest of the body (everything but the data spans) is
 * parsed with `JSON.parse`, and the spans are matched to the records in order; any mismatch
 * falls back to `JSON.parse` of the whole body.
 */
import { isAscii } from 'node:buffer';
import { GetRecordsCommand, type GetRecordsCommandOutput, type _Record } from '@aws-sdk/client-kinesis';
import { SourceError } from '../errors.js';

/** The fields of a GetRecords response that the reader uses. */
export type GetRecordsFields = Pick<GetRecordsCommandOutput, 'Records' | 'NextShardIterator' | 'MillisBehindLatest' | 'ChildShards'>;

interface WireRecord {
  Data?: unknown;
  SequenceNumber?: unknown;
  PartitionKey?: unknown;
  ApproximateArrivalTimestamp?: unknown;
  EncryptionType?: unknown;
}

interface WireBody {
  Records?: unknown;
  NextShardIterator?: unknown;
  MillisBehindLatest?: unknown;
  ChildShards?: unknown;
}

const DATA_KEY = '"Data":"';

type MutableRecord = { -readonly [K in keyof _Record]: _Record[K] };

function toRecord(wire: WireRecord, data: Uint8Array): _Record | undefined {
  if (typeof wire.SequenceNumber !== 'string' || typeof wire.PartitionKey !== 'string') return undefined;
  // Built without object spreads (this runs once per record); the optional fields only when present.
  const record: MutableRecord = { Data: data, SequenceNumber: wire.SequenceNumber, PartitionKey: wire.PartitionKey };
  const arrival = wire.ApproximateArrivalTimestamp;
  // AWS JSON 1.1 timestamps are epoch seconds (with a fraction).
  if (typeof arrival === 'number') record.ApproximateArrivalTimestamp = new Date(Math.round(arrival * 1000));
  if (typeof wire.EncryptionType === 'string') record.EncryptionType = wire.EncryptionType as _Record['EncryptionType'];
  return record;
}

function fields(body: WireBody, records: _Record[]): GetRecordsFields {
  return {
    Records: records,
    ...(typeof body.NextShardIterator === 'string' ? { NextShardIterator: body.NextShardIterator } : {}),
    ...(typeof body.MillisBehindLatest === 'number' ? { MillisBehindLatest: body.MillisBehindLatest } : {}),
    ...(Array.isArray(body.ChildShards) ? { ChildShards: body.ChildShards as GetRecordsFields['ChildShards'] } : {}),
  };
}

/** Plain `JSON.parse` of the whole body; undefined when it is not a GetRecords response. */
function parsePlain(text: string): GetRecordsFields | undefined {
  let body: WireBody;
  try {
    body = JSON.parse(text) as WireBody;
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const wire = body.Records ?? [];
  if (!Array.isArray(wire)) return undefined;
  const records: _Record[] = [];
  for (const w of wire as WireRecord[]) {
    if (typeof w !== 'object' || w === null || typeof w.Data !== 'string') return undefined;
    const record = toRecord(w, Buffer.from(w.Data, 'base64'));
    if (!record) return undefined;
    records.push(record);
  }
  return fields(body, records);
}

/**
 * Parses a GetRecords response body (see the file comment); undefined when it is not one (the
 * SDK then parses it and reports the error). Exported for tests.
 */
export function parseGetRecordsBody(text: string): GetRecordsFields | undefined {
  // Cut the data spans out; JSON.parse the rest (a few hundred bytes per record).
  const spans: number[] = [];
  const pieces: string[] = [];
  let from = 0;
  // The most bytes the spans decode to (3 per 4 base64 characters, as Buffer.from allots).
  let decodedBound = 0;
  // The next backslash at or after the current span (2^32 - 1 when there is none).
  let backslash = -1;
  for (;;) {
    const key = text.indexOf(DATA_KEY, from);
    if (key === -1) break;
    const start = key + DATA_KEY.length;
    const end = text.indexOf('"', start);
    if (end === -1) return parsePlain(text);
    // An escape inside the span (`\/` is legal JSON): not plain base64, so parse the body whole.
    // (The next backslash is looked up once per backslash, not per record: linear in the body.)
    if (backslash < start) backslash = text.indexOf('\\', start) >>> 0;
    if (backslash < end) return parsePlain(text);
    pieces.push(text.slice(from, start));
    spans.push(start, end);
    decodedBound += ((end - start) * 3) >>> 2;
    from = end;
  }
  if (spans.length === 0) return parsePlain(text);
  pieces.push(text.slice(from));
  let body: WireBody;
  try {
    body = JSON.parse(pieces.join('')) as WireBody;
  } catch {
    return parsePlain(text);
  }
  const wire = body.Records;
  if (!Array.isArray(wire) || wire.length * 2 !== spans.length) return parsePlain(text);
  const records: _Record[] = new Array(wire.length);
  // Every record's data is decoded into one buffer for the whole response (a view each), instead
  // of a buffer per record: the same bytes (the same base64 decoder), far fewer allocations.
  const decoded = Buffer.allocUnsafeSlow(decodedBound);
  let at = 0;
  for (let i = 0; i < wire.length; i += 1) {
    const w = wire[i] as WireRecord;
    // Every record's Data must be one of the cut spans (now empty), in order.
    if (typeof w !== 'object' || w === null || w.Data !== '') return parsePlain(text);
    const start = spans[2 * i]!;
    const end = spans[2 * i + 1]!;
    const length = decoded.write(text.slice(start, end), at, ((end - start) * 3) >>> 2, 'base64');
    const data = new Uint8Array(decoded.buffer, decoded.byteOffset + at, length);
    at += length;
    const record = toRecord(w, data);
    if (!record) return parsePlain(text);
    records[i] = record;
  }
  return fields(body, records);
}

type Stack = GetRecordsCommand['middlewareStack'];
type Middleware = Parameters<Stack['add']>[0];
type Handler = ReturnType<Middleware>;
type Context = Parameters<Middleware>[1];

const PARSED = Symbol('get-records-parsed');
type WithParsed = Context & { [PARSED]?: GetRecordsFields | RawGetRecordsFields };

/**
 * What a native scan of a response body says (formats/native.ts `scanGetRecords`), or null when
 * the body is not one it takes (then the JS parser reads it).
 */
export interface ScannedBody {
  readonly count: number;
  readonly lastSequenceNumber?: string | null;
  readonly nextShardIterator?: string | null;
  readonly millisBehindLatest?: number | null;
  /** The response has ChildShards (the end of a closed shard): the JS parser reads it. */
  readonly hasChildShards: boolean;
  /** Some record is a KPL aggregate: the JS parser reads it (the source splits aggregates). */
  readonly aggregated: boolean;
  /** Bytes of record data (decoded). */
  readonly dataBytes: number;
  /** The body, held by the scanner for the sink that reads it natively; absent when it has no records. */
  readonly body?: HeldBody;
}

/**
 * A scanned response body the scanner holds (joined once, its records found) until the sink has
 * read it: neither joined nor parsed again. Whoever handles its batch releases it.
 */
export interface HeldBody {
  /** A copy of the body's bytes, for the JS parser (the few records a sink refuses). Throws once released. */
  bytes(): Buffer;
  /** Frees the body; reading it afterwards throws. One never released is freed when its handle is collected. */
  release(): void;
}

/**
 * Scans a response body natively (given as the chunks it arrived in: the addon joins them in its
 * own memory, so no joined copy is allocated where V8 counts it; see {@link readChunks}) and holds
 * it when it has records; null when the JS parser must read it.
 */
export type BodyScanner = (chunks: readonly Buffer[]) => ScannedBody | null;

/** A response whose records were left unparsed: a sink that reads the body natively takes them. */
export interface RawGetRecordsFields {
  readonly NextShardIterator?: string;
  readonly MillisBehindLatest?: number;
  readonly rawBody: { readonly body: HeldBody | undefined; readonly count: number; readonly lastSequenceNumber: string | undefined; readonly dataBytes: number };
}

/** The raw body of a response read by {@link fastGetRecordsCommand} with a scanner, if it was left unparsed. */
export function rawBodyOf(output: object): RawGetRecordsFields['rawBody'] | undefined {
  return (output as Partial<RawGetRecordsFields>).rawBody;
}

/** The fields of a scanned body, or undefined when the JS parser must read it. */
function scannedFields(chunks: readonly Buffer[], scan: BodyScanner): RawGetRecordsFields | undefined {
  const scanned = scan(chunks);
  if (scanned === null) return undefined;
  if (scanned.hasChildShards || scanned.aggregated) {
    scanned.body?.release();
    return undefined;
  }
  if (scanned.count > 0 && scanned.body === undefined) throw new SourceError(`the body scanner read ${scanned.count} records but holds no body`);
  return {
    ...(typeof scanned.nextShardIterator === 'string' ? { NextShardIterator: scanned.nextShardIterator } : {}),
    ...(typeof scanned.millisBehindLatest === 'number' ? { MillisBehindLatest: scanned.millisBehindLatest } : {}),
    rawBody: { body: scanned.body, count: scanned.count, lastSequenceNumber: typeof scanned.lastSequenceNumber === 'string' ? scanned.lastSequenceNumber : undefined, dataBytes: scanned.dataBytes },
  };
}

interface RawResponse {
  statusCode?: number;
  body?: unknown;
}

/**
 * A response body as the chunks it arrived in. Joining a 4 MB body into one Buffer allocates 4 MB
 * that V8 counts as external memory, and every 64 MB or so of that starts a full collection of
 * the heap (`--trace-gc`: "GC in old space requested", every 0.2–0.6 s while reading), so the
 * native path takes the chunks and joins them in the addon's own memory.
 */
async function readChunks(body: unknown): Promise<Buffer[] | undefined> {
  if (body instanceof Uint8Array) return [Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
  if (typeof body !== 'object' || body === null || !(Symbol.asyncIterator in body)) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  return chunks;
}

/** Chunks as one Buffer (one chunk, a small response, is the body as it is: no copy). */
export function joinChunks(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/**
 * The body as text. A body of ASCII bytes only (every response whose partition keys are ASCII:
 * base64, digits, JSON punctuation) reads as Latin-1, which gives the same string as UTF-8 for
 * ASCII and costs about a tenth: no UTF-8 decoding of megabytes of base64. Exported for tests.
 */
export function bodyText(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

const EMPTY_OBJECT = new TextEncoder().encode('{}');

const rawBodyMiddleware = (scan: BodyScanner | undefined): Middleware => (next, context) => (async (args: Parameters<Handler>[0]) => {
  const result = await next(args);
  const response = result.response as RawResponse;
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) return result;
  const chunks = await readChunks(response.body);
  if (chunks === undefined) return result;
  const scanned = scan === undefined ? undefined : scannedFields(chunks, scan);
  if (scanned !== undefined) {
    (context as WithParsed)[PARSED] = scanned;
    response.body = EMPTY_OBJECT;
    return result;
  }
  const bytes = joinChunks(chunks);
  const parsed = parseGetRecordsBody(bodyText(bytes));
  if (parsed === undefined) {
    response.body = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } else {
    (context as WithParsed)[PARSED] = parsed;
    response.body = EMPTY_OBJECT;
  }
  return result;
}) as Handler;

const mergeMiddleware: Middleware = (next, context) => (async (args: Parameters<Handler>[0]) => {
  const result = await next(args);
  const parsed = (context as WithParsed)[PARSED];
  if (parsed === undefined) return result;
  delete (context as WithParsed)[PARSED];
  return { ...result, output: { ...(result.output as object), ...parsed } };
}) as Handler;

/**
 * A GetRecords command whose 2xx response is parsed by {@link parseGetRecordsBody} (see the file
 * comment), or, with `scan`, scanned natively and left unparsed ({@link rawBodyOf}) unless it holds
 * KPL aggregates or child shards.
 */
export function fastGetRecordsCommand(input: ConstructorParameters<typeof GetRecordsCommand>[0], scan?: BodyScanner): GetRecordsCommand {
  const command = new GetRecordsCommand(input);
  command.middlewareStack.add(rawBodyMiddleware(scan), { step: 'deserialize', priority: 'low', name: 'etlRawGetRecordsBody' });
  command.middlewareStack.add(mergeMiddleware, { step: 'deserialize', priority: 'high', name: 'etlMergeGetRecordsBody' });
  return command;
}
