/**
 * Compression codecs for kafkajs, which decodes only gzip by itself. Registered once for every
 * client (source, sink, replay); each package is plain JavaScript or WebAssembly shipped inside
 * the npm package, so nothing is downloaded or built at install time:
 * - snappy: `snappyjs` (pure JavaScript) with the xerial framing the Java client writes
 *   (`0x82 SNAPPY 0x00`, version, then length-prefixed blocks); unframed snappy is read too;
 * - lz4: `lz4js` (pure JavaScript) reads LZ4 frames; frames are written here with independent
 *   64 KiB blocks, as the Java client does, by `lz4-block.ts` (the broker refuses lz4js's own
 *   frames, whose blocks depend on each other, and blocks whose last match starts too late);
 * - zstd: `fzstd` (pure JavaScript) decompresses, including the streamed frames without a content
 *   size that the Java client writes; `@bokuweb/zstd-wasm` (WebAssembly) compresses.
 */
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import * as lz4 from 'lz4js';
import { decompress as zstdDecompress } from 'fzstd';
import { xxh32 } from '../lz4-frame.js';
import { KafkaClientError } from './errors.js';
import { lz4CompressBlock } from './lz4-block.js';

const require = createRequire(import.meta.url);
// kafkajs is CommonJS whose codec registry Node cannot see as a named export.
const { CompressionCodecs, CompressionTypes } = kafkajs;

interface SnappyJs {
  compress(input: Uint8Array): Uint8Array;
  uncompress(input: Uint8Array): Uint8Array;
}
interface ZstdWasm {
  init(): Promise<void>;
  compress(input: Uint8Array, level?: number): Uint8Array;
}

/** The xerial snappy-java stream header. */
const XERIAL_MAGIC = Uint8Array.of(0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00);
const XERIAL_HEADER_BYTES = 16;
/** The block size of snappy-java's stream (and so of the Java Kafka producer). */
const XERIAL_BLOCK_BYTES = 32 * 1024;

/** An encoder as kafkajs hands it to `compress`. */
interface Encoder {
  readonly buffer: Buffer;
}

function isXerial(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i += 1) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** Snappy as Kafka uses it: xerial-framed blocks (or one raw snappy block). */
export function snappyDecompress(data: Uint8Array): Buffer {
  const snappy = require('snappyjs') as SnappyJs;
  if (!isXerial(data)) return Buffer.from(snappy.uncompress(data));
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const parts: Uint8Array[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < data.length) {
    if (at + 4 > data.length) throw new KafkaClientError('a snappy block header is cut short');
    const length = view.getInt32(at);
    at += 4;
    if (length < 0 || at + length > data.length) throw new KafkaClientError(`a snappy block of ${length} bytes runs past the end of the batch`);
    parts.push(snappy.uncompress(data.subarray(at, at + length)));
    at += length;
  }
  return Buffer.concat(parts);
}

/** Snappy in the xerial framing the Java client writes and reads. */
export function snappyCompress(data: Uint8Array): Buffer {
  const snappy = require('snappyjs') as SnappyJs;
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  header.set(XERIAL_MAGIC, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Uint8Array[] = [header];
  for (let at = 0; at < data.length; at += XERIAL_BLOCK_BYTES) {
    const block = snappy.compress(data.subarray(at, Math.min(data.length, at + XERIAL_BLOCK_BYTES)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** The block size the Java client's LZ4 frames use (BD 4). */
const LZ4_BLOCK_BYTES = 64 * 1024;

/**
 * An LZ4 frame as Kafka's Java client writes it: version 01, independent blocks, no checksums
 * other than the header's, 64 KiB blocks, each compressed on its own (or stored when that is smaller).
 */
export function lz4FrameCompress(data: Uint8Array): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0]);
  header[6] = (xxh32(header.subarray(4, 6)) >>> 8) & 0xff;
  const parts: Uint8Array[] = [header];
  for (let at = 0; at < data.length; at += LZ4_BLOCK_BYTES) {
    const block = data.subarray(at, Math.min(data.length, at + LZ4_BLOCK_BYTES));
    const compressed = lz4CompressBlock(block);
    const length = Buffer.alloc(4);
    if (compressed.length >= block.length) {
      length.writeUInt32LE((0x80000000 | block.length) >>> 0, 0);
      parts.push(length, block);
    } else {
      length.writeUInt32LE(compressed.length, 0);
      parts.push(length, compressed);
    }
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

let zstd: Promise<ZstdWasm> | undefined;
/** The zstd compressor, its WebAssembly instantiated once. */
function zstdWasm(): Promise<ZstdWasm> {
  zstd ??= (async () => {
    const module = require('@bokuweb/zstd-wasm') as ZstdWasm;
    await module.init();
    return module;
  })();
  return zstd;
}

function wrap(codec: string, fn: () => Buffer): Buffer {
  try {
    return fn();
  } catch (error) {
    if (error instanceof KafkaClientError) throw error;
    throw new KafkaClientError(`could not process a ${codec} record batch`, { cause: error });
  }
}

let registered = false;

/** Registers the snappy, lz4 and zstd codecs with kafkajs (once). */
export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: async (encoder: Encoder) => wrap('snappy', () => snappyCompress(encoder.buffer)),
    decompress: async (buffer: Buffer) => wrap('snappy', () => snappyDecompress(buffer)),
  });
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: Encoder) => wrap('lz4', () => lz4FrameCompress(encoder.buffer)),
    decompress: async (buffer: Buffer) => wrap('lz4', () => Buffer.from(lz4.decompress(buffer))),
  });
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: async (encoder: Encoder) => {
      const module = await zstdWasm();
      return wrap('zstd', () => Buffer.from(module.compress(encoder.buffer, 3)));
    },
    decompress: async (buffer: Buffer) => wrap('zstd', () => Buffer.from(zstdDecompress(buffer))),
  });
}
