/**
 * A streaming decoder of the LZ4 frame format (the `.lz4` files of the `lz4` command line tool, of
 * the original amazon-kinesis-replay data set, and of Kafka's lz4 batches), for inputs too large to
 * hold in memory. Block decompression is lz4js's (pure JavaScript, no native build); this module
 * does the framing: header and its checksum, linked or independent blocks (a 64 KiB window is
 * kept for linked ones), uncompressed blocks, block checksums, the content checksum and content
 * size, skippable frames, and concatenated frames.
 *
 * Every check the frame offers is made: a wrong header checksum, block checksum, content checksum
 * or content size fails the stream with an Lz4FrameError saying which and where. A frame without
 * checksums cannot reveal corrupt compressed data (no LZ4 decoder can); the `lz4` tool writes a
 * content checksum by default. Dictionaries (a DictID) and the legacy format are refused, naming them.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import lz4 from 'lz4js';
import { EtlError } from './errors.js';

/** The first four bytes of an LZ4 frame (0x184D2204, little-endian). */
export const LZ4_FRAME_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x04, 0x22, 0x4d, 0x18);

/** The data is not a valid LZ4 frame, or fails one of its checksums. */
export class Lz4FrameError extends EtlError {}

/** Whether the bytes start with the LZ4 frame magic number. */
export function isLz4Frame(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x04 && head[1] === 0x22 && head[2] === 0x4d && head[3] === 0x18;
}

const MAGIC = 0x184d2204;
const LEGACY_MAGIC = 0x184c2102;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const WINDOW = 64 * 1024;
const BLOCK_MAX: Readonly<Record<number, number>> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

// ---- XXH32, incremental (the content checksum spans the whole stream) ----

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
const round = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, P2)) >>> 0, 13), P1) >>> 0;
const readU32 = (b: Uint8Array, i: number): number => ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0;

/** XXH32 over data fed in pieces: the checksum of LZ4 frames. */
export class Xxh32 {
  #v1: number;
  #v2: number;
  #v3: number;
  #v4: number;
  readonly #seed: number;
  readonly #buffer = new Uint8Array(16);
  #buffered = 0;
  #total = 0;

  constructor(seed = 0) {
    this.#seed = seed >>> 0;
    this.#v1 = (this.#seed + P1 + P2) >>> 0;
    this.#v2 = (this.#seed + P2) >>> 0;
    this.#v3 = this.#seed;
    this.#v4 = (this.#seed - P1) >>> 0;
  }

  /** Feeds bytes. */
  update(data: Uint8Array): this {
    this.#total += data.length;
    let i = 0;
    if (this.#buffered > 0) {
      const take = Math.min(16 - this.#buffered, data.length);
      this.#buffer.set(data.subarray(0, take), this.#buffered);
      this.#buffered += take;
      i = take;
      if (this.#buffered < 16) return this;
      this.#stripe(this.#buffer, 0);
      this.#buffered = 0;
    }
    for (; i + 16 <= data.length; i += 16) this.#stripe(data, i);
    if (i < data.length) {
      this.#buffer.set(data.subarray(i), 0);
      this.#buffered = data.length - i;
    }
    return this;
  }

  /** The hash of everything fed so far, unsigned 32-bit. */
  digest(): number {
    let h =
      this.#total >= 16
        ? (rotl(this.#v1, 1) + rotl(this.#v2, 7) + rotl(this.#v3, 12) + rotl(this.#v4, 18)) >>> 0
        : (this.#seed + P5) >>> 0;
    h = (h + this.#total) >>> 0;
    let i = 0;
    for (; i + 4 <= this.#buffered; i += 4) h = Math.imul(rotl((h + Math.imul(readU32(this.#buffer, i), P3)) >>> 0, 17), P4) >>> 0;
    for (; i < this.#buffered; i += 1) h = Math.imul(rotl((h + Math.imul(this.#buffer[i] as number, P5)) >>> 0, 11), P1) >>> 0;
    h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
    h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  }

  #stripe(b: Uint8Array, i: number): void {
    this.#v1 = round(this.#v1, readU32(b, i));
    this.#v2 = round(this.#v2, readU32(b, i + 4));
    this.#v3 = round(this.#v3, readU32(b, i + 8));
    this.#v4 = round(this.#v4, readU32(b, i + 12));
  }
}

/** XXH32 of one buffer. */
export function xxh32(data: Uint8Array, seed = 0): number {
  return new Xxh32(seed).update(data).digest();
}

// ---- the frame decoder ----

/** Queued input bytes, taken in exact amounts without copying more than needed. */
class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes (n ≤ length), without consuming them. */
  peek(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [joined];
    return joined.subarray(0, n);
  }

  /** Takes the first `n` bytes (n ≤ length). */
  take(n: number): Buffer {
    const out = this.peek(n);
    let left = n;
    while (left > 0) {
      const first = this.#chunks[0] as Buffer;
      if (first.length <= left) {
        this.#chunks.shift();
        left -= first.length;
      } else {
        this.#chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.#length -= n;
    return out;
  }
}

interface FrameState {
  readonly linked: boolean;
  readonly blockChecksum: boolean;
  readonly contentChecksum: boolean;
  readonly contentSize: bigint | undefined;
  readonly blockMax: number;
  readonly hash: Xxh32 | undefined;
  /** Output buffer: a 64 KiB history window, then room for one block. */
  readonly out: Uint8Array;
  /** Bytes of history in front of the window's end. */
  history: number;
  produced: bigint;
  index: number;
}

type Phase = 'magic' | 'skippable' | 'descriptor' | 'block' | 'checksum';

/** A Transform from LZ4-framed bytes to the decompressed bytes; `name` is used in error messages. */
export function createLz4FrameDecoder(name: string): Transform {
  const queue = new ByteQueue();
  let phase: Phase = 'magic';
  let frame: FrameState | undefined;
  let frames = 0;
  let offset = 0; // input bytes consumed so far, for messages
  let skip = 0;

  const fail = (message: string): Lz4FrameError => new Lz4FrameError(`${name}: LZ4 frame ${frames} at input byte ${offset}: ${message}`);
  const take = (n: number): Buffer => {
    offset += n;
    return queue.take(n);
  };

  /** Parses as much as the queued bytes allow, pushing output; returns an error to fail with. */
  const run = (push: (b: Buffer) => void): Lz4FrameError | undefined => {
    while (true) {
      switch (phase) {
        case 'magic': {
          if (queue.length < 4) return undefined;
          const magic = readU32(queue.peek(4), 0);
          if (magic === MAGIC) {
            take(4);
            frames += 1;
            phase = 'descriptor';
          } else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
            if (queue.length < 8) return undefined;
            skip = readU32(take(8), 4);
            phase = 'skippable';
          } else if (magic === LEGACY_MAGIC) {
            return fail('the legacy LZ4 format (magic 0x184C2102) is not supported; recompress with a current lz4 (frame format)');
          } else {
            return fail(`expected the magic number 0x184D2204, got 0x${magic.toString(16).toUpperCase().padStart(8, '0')}`);
          }
          break;
        }
        case 'skippable': {
          const n = Math.min(skip, queue.length);
          take(n);
          skip -= n;
          if (skip > 0) return undefined;
          phase = 'magic';
          break;
        }
        case 'descriptor': {
          if (queue.length < 3) return undefined;
          const head = queue.peek(2);
          const flg = head[0] as number;
          const bd = head[1] as number;
          const length = 3 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
          if (queue.length < length) return undefined;
          const descriptor = take(length);
          if (flg >> 6 !== 1) return fail(`unsupported frame version ${flg >> 6} (FLG byte 0x${flg.toString(16)})`);
          if (flg & 0x02 || bd & 0x8f) return fail(`reserved bits are set (FLG 0x${flg.toString(16)}, BD 0x${bd.toString(16)})`);
          if (flg & 0x01) return fail('the frame needs a dictionary (DictID set), which is not supported');
          const blockMax = BLOCK_MAX[(bd >> 4) & 0x07];
          if (blockMax === undefined) return fail(`invalid block maximum size code ${(bd >> 4) & 0x07} in BD byte 0x${bd.toString(16)}`);
          const expected = (xxh32(descriptor.subarray(0, length - 1)) >>> 8) & 0xff;
          const actual = descriptor[length - 1] as number;
          if (expected !== actual) return fail(`header checksum mismatch: 0x${actual.toString(16)} in the frame, 0x${expected.toString(16)} computed`);
          const linked = (flg & 0x20) === 0;
          frame = {
            linked,
            blockChecksum: (flg & 0x10) !== 0,
            contentChecksum: (flg & 0x04) !== 0,
            contentSize: flg & 0x08 ? descriptor.readBigUInt64LE(2) : undefined,
            blockMax,
            hash: flg & 0x04 ? new Xxh32() : undefined,
            out: new Uint8Array((linked ? WINDOW : 0) + blockMax),
            history: 0,
            produced: 0n,
            index: 0,
          };
          phase = 'block';
          break;
        }
        case 'block': {
          const f = frame as FrameState;
          if (queue.length < 4) return undefined;
          const word = readU32(queue.peek(4), 0);
          if (word === 0) {
            take(4);
            phase = 'checksum';
            break;
          }
          const size = word & 0x7fffffff;
          const stored = word >>> 31 === 1;
          if (size > f.blockMax) return fail(`block ${f.index} claims ${size} bytes, over the frame's block maximum of ${f.blockMax}`);
          const total = 4 + size + (f.blockChecksum ? 4 : 0);
          if (queue.length < total) return undefined;
          const block = take(total).subarray(4);
          const data = block.subarray(0, size);
          if (f.blockChecksum) {
            const expected = xxh32(data);
            const actual = block.readUInt32LE(size);
            if (expected !== actual) return fail(`block ${f.index} checksum mismatch: 0x${actual.toString(16)} in the frame, 0x${expected.toString(16)} computed`);
          }
          const start = f.linked ? WINDOW : 0;
          let end: number;
          if (stored) {
            f.out.set(data, start);
            end = start + size;
          } else {
            end = lz4.decompressBlock(data, f.out, 0, size, start);
            if (end > start + f.blockMax) return fail(`block ${f.index} decompresses to more than the block maximum of ${f.blockMax} bytes`);
          }
          const decoded = Buffer.from(f.out.subarray(start, end));
          f.hash?.update(decoded);
          f.produced += BigInt(decoded.length);
          f.index += 1;
          if (f.linked) {
            // Keep the last 64 KiB of output in front of the window's end for the next block.
            const keep = Math.min(WINDOW, f.history + (end - start));
            f.out.copyWithin(WINDOW - keep, end - keep, end);
            f.history = keep;
          }
          if (decoded.length > 0) push(decoded);
          break;
        }
        case 'checksum': {
          const f = frame as FrameState;
          if (f.contentChecksum) {
            if (queue.length < 4) return undefined;
            const actual = readU32(take(4), 0);
            const expected = (f.hash as Xxh32).digest();
            if (expected !== actual) return fail(`content checksum mismatch: 0x${actual.toString(16)} in the frame, 0x${expected.toString(16)} computed`);
          }
          if (f.contentSize !== undefined && f.contentSize !== f.produced) {
            return fail(`the frame header says ${f.contentSize} bytes of content, its blocks hold ${f.produced}`);
          }
          frame = undefined;
          phase = 'magic';
          break;
        }
      }
    }
  };

  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      queue.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      callback(run((b) => this.push(b)));
    },
    flush(callback: TransformCallback): void {
      const error = run((b) => this.push(b));
      if (error) return callback(error);
      if (frames === 0 && queue.length === 0) return callback(fail('empty input: no LZ4 frame'));
      if (phase !== 'magic' || queue.length > 0) {
        return callback(fail(`truncated: the input ends ${phase === 'magic' ? `with ${queue.length} stray byte(s)` : `inside the frame (${phase === 'block' ? `block ${frame?.index ?? 0}` : phase})`}`));
      }
      callback();
    },
  });
}
