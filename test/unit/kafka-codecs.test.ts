/**
 * The Kafka compression codecs (common/kafka/codecs.ts): snappy in the xerial framing the Java
 * client writes (several blocks) and unframed, lz4 frames and zstd round trips through kafkajs's
 * codec registry, and a corrupt batch is a typed error with its cause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { registerCodecs, snappyCompress, snappyDecompress } from '../../common/kafka/codecs.js';
import { KafkaClientError } from '../../common/kafka/errors.js';
import { lz4CompressBlock } from '../../common/kafka/lz4-block.js';
import * as lz4js from 'lz4js';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/** Data that spans several 32 KiB snappy blocks and compresses well. */
function sample(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 1) out[i] = (i * 7 + (i >> 10)) % 61;
  return out;
}

test('snappy: xerial framing with 32 KiB blocks, as the Java client writes it, round trips', () => {
  const data = sample(100_000);
  const framed = snappyCompress(data);
  assert.deepEqual([...framed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00], 'xerial magic');
  assert.equal(framed.readInt32BE(8), 1, 'stream version');
  // 100 000 bytes are four blocks: walk the length prefixes.
  let at = 16;
  let blocks = 0;
  while (at < framed.length) {
    at += 4 + framed.readInt32BE(at);
    blocks += 1;
  }
  assert.equal(at, framed.length);
  assert.equal(blocks, 4);
  assert.ok(framed.length < data.length / 2, 'compressed');
  assert.ok(snappyDecompress(framed).equals(data));
});

test('snappy: an unframed block is read too; a truncated framed batch is a KafkaClientError', () => {
  const data = sample(5000);
  const framed = snappyCompress(data);
  // The payload of the single block is plain snappy.
  const raw = framed.subarray(20);
  assert.ok(snappyDecompress(raw).equals(data));
  assert.throws(() => snappyDecompress(framed.subarray(0, framed.length - 10)), (error: unknown) => error instanceof KafkaClientError && /runs past the end/.test(error.message));
});

test('kafkajs codecs: gzip, snappy, lz4 and zstd round trip; a corrupt zstd batch is a KafkaClientError with a cause', async () => {
  registerCodecs();
  const data = sample(70_000);
  for (const type of [CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]) {
    const codec = (CompressionCodecs as Record<number, () => unknown>)[type]!() as { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> };
    const compressed = await codec.compress({ buffer: data });
    assert.ok(compressed.length < data.length, `codec ${type} compresses`);
    assert.ok((await codec.decompress(compressed)).equals(data), `codec ${type} round trips`);
  }
  const lz4 = CompressionCodecs[CompressionTypes.LZ4]() as { compress(e: { buffer: Buffer }): Promise<Buffer> };
  const frame = await lz4.compress({ buffer: data });
  assert.deepEqual([...frame.subarray(0, 4)], [0x04, 0x22, 0x4d, 0x18], 'an LZ4 frame');
  assert.equal(frame[4], 0x60, 'version 01 with independent blocks (the broker refuses dependent ones)');
  assert.equal(frame[5], 0x40, '64 KiB blocks, as the Java client writes');
  const zstd = CompressionCodecs[CompressionTypes.ZSTD]() as { decompress(b: Buffer): Promise<Buffer> };
  await assert.rejects(zstd.decompress(Buffer.from('not zstd at all')), (error: unknown) => error instanceof KafkaClientError && error.cause !== undefined);
});

test('lz4 blocks: every size and kind of data decodes back, and the last match starts at least 12 bytes before the end', () => {
  const kinds: Record<string, (i: number) => number> = {
    repeating: (i) => i % 7,
    text: (i) => 'hello world, hello trips '.charCodeAt(i % 25),
    noise: (i) => (Math.imul(i + 1, 2654435761) >>> 13) & 0xff,
  };
  for (const size of [0, 1, 5, 12, 13, 14, 20, 100, 1000, 65_536]) {
    for (const [kind, byte] of Object.entries(kinds)) {
      const src = Uint8Array.from({ length: size }, (_, i) => byte(i));
      const block = lz4CompressBlock(src);
      const out = new Uint8Array(size);
      assert.equal(lz4js.decompressBlock(block, out, 0, block.length, 0), size, `${kind} ${size}: length`);
      assert.deepEqual(out, src, `${kind} ${size}: bytes`);
      // Walk the sequences: the last one is literals only, and the one before it ends 5+ bytes before the end.
      let at = 0;
      let produced = 0;
      let lastMatchStart = -1;
      while (at < block.length) {
        const token = block[at++]!;
        let literals = token >> 4;
        if (literals === 15) for (let b = 255; b === 255; literals += b) b = block[at++]!;
        at += literals;
        produced += literals;
        if (at >= block.length) break;
        at += 2;
        let match = (token & 15) + 4;
        if ((token & 15) === 15) for (let b = 255; b === 255; match += b) b = block[at++]!;
        lastMatchStart = produced;
        produced += match;
      }
      if (lastMatchStart >= 0) assert.ok(lastMatchStart <= size - 12, `${kind} ${size}: last match at ${lastMatchStart}`);
    }
  }
  assert.ok(lz4CompressBlock(Uint8Array.from({ length: 65_536 }, (_, i) => i % 7)).length < 1000, 'repeating data compresses');
});
