import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import lz4 from 'lz4js';
import { Lz4FrameError, Xxh32, createLz4FrameDecoder, isLz4Frame, xxh32 } from '../../common/lz4-frame.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = readFileSync(`${ROOT}data/nyc-tlc/yellow_tripdata_2018-01_sample.csv`);
/**
 * Made with the reference `lz4` tool (v1.9.4) from the sample CSV:
 * - sample-linked-64k-checksums: `lz4 -B4 -BD -BX --content-size` (64 KiB linked blocks, block and content checksums, content size);
 * - sample-default: `lz4 -9` (4 MiB independent blocks, content checksum);
 * - sample-twice-skippable: sample-default, a skippable frame of 3 bytes, then `lz4 -B4 --no-frame-crc` (no checksum at all).
 */
const fixture = (name: string): Buffer => readFileSync(`${ROOT}test/fixtures/lz4/${name}`);
const upstreamXxh32 = createRequire(import.meta.url)('lz4js/xxh32.js') as { hash(seed: number, src: Uint8Array, index: number, length: number): number };

/** Decodes `input` fed in chunks of `chunk` bytes. */
async function decode(input: Uint8Array, chunk = 65536, name = 'test.lz4'): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) pieces.push(Buffer.from(input.subarray(i, i + chunk)));
  const out: Buffer[] = [];
  for await (const piece of Readable.from(pieces).pipe(createLz4FrameDecoder(name))) out.push(piece as Buffer);
  return Buffer.concat(out);
}

async function decodeError(input: Uint8Array): Promise<Lz4FrameError> {
  try {
    await decode(input);
  } catch (error) {
    assert.ok(error instanceof Lz4FrameError, String(error));
    return error;
  }
  assert.fail('decoding succeeded');
}

describe('XXH32', () => {
  test('known values, and fed in pieces equals in one go and lz4js\'s own', () => {
    assert.equal(xxh32(new Uint8Array()), 0x02cc5d05);
    assert.equal(xxh32(new TextEncoder().encode('abc')), 0x32d153ff);
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    for (const length of [0, 1, 3, 4, 15, 16, 17, 31, 32, 33, 999, 1000]) {
      const part = data.subarray(0, length);
      const whole = xxh32(part, 7);
      assert.equal(whole, upstreamXxh32.hash(7, part, 0, length) >>> 0, `length ${length}`);
      for (const split of [1, 5, 16, 17]) {
        const h = new Xxh32(7);
        for (let i = 0; i < length; i += split) h.update(part.subarray(i, i + split));
        assert.equal(h.digest(), whole, `length ${length} in pieces of ${split}`);
      }
    }
  });
});

describe('LZ4 frame decoder', () => {
  test('frames of the reference lz4 tool decode to the original, fed in any chunk size', async () => {
    for (const name of ['sample-linked-64k-checksums.csv.lz4', 'sample-default.csv.lz4']) {
      assert.ok(isLz4Frame(fixture(name)));
      for (const chunk of [1 << 20, 4096, 7]) assert.ok((await decode(fixture(name), chunk)).equals(SAMPLE), `${name} in chunks of ${chunk}`);
    }
  });

  test('concatenated frames and a skippable frame in between', async () => {
    assert.ok((await decode(fixture('sample-twice-skippable.csv.lz4'), 1000)).equals(Buffer.concat([SAMPLE, SAMPLE])));
  });

  test('frames of lz4js (the test suite\'s encoder) decode', async () => {
    const data = Buffer.from('{"a":1}\n'.repeat(100_000));
    assert.ok((await decode(lz4.compress(data), 3000)).equals(data));
  });

  test('a flipped bit in a block fails its block checksum, naming the block', async () => {
    const bytes = Buffer.from(fixture('sample-linked-64k-checksums.csv.lz4'));
    bytes[100] = (bytes[100] as number) ^ 0x10;
    const error = await decodeError(bytes);
    assert.match(error.message, /^test\.lz4: LZ4 frame 1 at input byte \d+: block 0 checksum mismatch/);
  });

  test('a flipped bit in a frame with only a content checksum fails it', async () => {
    const bytes = Buffer.from(fixture('sample-default.csv.lz4'));
    // a literal byte deep in the block: still decodes, to different content
    bytes[30] = (bytes[30] as number) ^ 0x01;
    const error = await decodeError(bytes);
    assert.match(error.message, /content checksum mismatch/);
  });

  test('a header checksum, a truncated frame, trailing bytes, a wrong magic, the legacy format, an oversized block', async () => {
    const good = fixture('sample-linked-64k-checksums.csv.lz4');
    const header = Buffer.from(good);
    header[14] = (header[14] as number) ^ 0xff; // the HC byte after FLG, BD and an 8-byte content size
    assert.match((await decodeError(header)).message, /header checksum mismatch/);
    assert.match((await decodeError(good.subarray(0, good.length - 10))).message, /truncated: the input ends inside the frame \(block 1\)/);
    assert.match((await decodeError(good.subarray(0, good.length - 2))).message, /truncated: the input ends inside the frame \(checksum\)/);
    assert.match((await decodeError(Buffer.concat([good, Buffer.from([1, 2])]))).message, /truncated: the input ends with 2 stray byte\(s\)/);
    assert.match((await decodeError(Buffer.concat([good, Buffer.from('hello')]))).message, /expected the magic number 0x184D2204, got 0x6C6C6568/);
    assert.match((await decodeError(Buffer.from([0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0]))).message, /legacy LZ4 format/);
    const big = Buffer.from(good);
    big.writeUInt32LE(0x20000, 15); // block 0 claims 128 KiB in a 64 KiB-block frame
    assert.match((await decodeError(big)).message, /block 0 claims 131072 bytes, over the frame's block maximum of 65536/);
  });

  test('a content size that does not match the blocks fails', async () => {
    const bytes = Buffer.from(fixture('sample-linked-64k-checksums.csv.lz4'));
    bytes.writeBigUInt64LE(BigInt(SAMPLE.length + 1), 6);
    bytes[14] = (xxh32(bytes.subarray(4, 14)) >>> 8) & 0xff; // keep the header checksum right
    assert.match((await decodeError(bytes)).message, new RegExp(`the frame header says ${SAMPLE.length + 1} bytes of content, its blocks hold ${SAMPLE.length}`));
  });
});
