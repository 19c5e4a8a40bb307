/**
 * An LZ4 block compressor (greedy, one hash probe per position) that keeps the format's
 * end-of-block rules that strict decoders such as the broker's (lz4-java, `LZ4_decompress_safe`)
 * enforce: the last match starts at least 12 bytes before the end of the block, and the last 5
 * bytes are literals. lz4js's block compressor can start a match 10 bytes before the end, which the
 * broker refuses ("Error decoding offset …"), so the Kafka codecs use this one to write.
 */

const MIN_MATCH = 4;
/** A match must start at least this many bytes before the end of the block. */
const MF_LIMIT = 12;
/** The last bytes of a block are always literals. */
const LAST_LITERALS = 5;
const HASH_BITS = 16;
const MAX_OFFSET = 65_535;

function read32(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

/** Writes an LZ4 length continuation (the part at or above 15) as 255s and a remainder. */
function writeLength(out: Uint8Array, at: number, rest: number): number {
  let n = rest;
  while (n >= 255) {
    out[at++] = 255;
    n -= 255;
  }
  out[at++] = n;
  return at;
}

/** The largest compressed size of `n` bytes. */
export function lz4BlockBound(n: number): number {
  return n + Math.ceil(n / 255) + 16;
}

/** Compresses one independent LZ4 block; returns the compressed bytes (possibly larger than the input). */
export function lz4CompressBlock(src: Uint8Array): Uint8Array {
  const n = src.length;
  const out = new Uint8Array(lz4BlockBound(n));
  let o = 0;
  let anchor = 0;
  const emit = (literalEnd: number, offset: number, matchLength: number): void => {
    const literals = literalEnd - anchor;
    const token = o++;
    out[token] = (Math.min(literals, 15) << 4) | (matchLength === 0 ? 0 : Math.min(matchLength - MIN_MATCH, 15));
    if (literals >= 15) o = writeLength(out, o, literals - 15);
    out.set(src.subarray(anchor, literalEnd), o);
    o += literals;
    if (matchLength === 0) return;
    out[o++] = offset & 0xff;
    out[o++] = offset >>> 8;
    if (matchLength - MIN_MATCH >= 15) o = writeLength(out, o, matchLength - MIN_MATCH - 15);
  };
  if (n > MF_LIMIT) {
    const table = new Int32Array(1 << HASH_BITS).fill(-1);
    const lastMatchStart = n - MF_LIMIT;
    const matchEnd = n - LAST_LITERALS;
    let i = 0;
    while (i < lastMatchStart) {
      const sequence = read32(src, i);
      const hash = Math.imul(sequence, 2654435761) >>> (32 - HASH_BITS);
      const candidate = table[hash]!;
      table[hash] = i;
      if (candidate < 0 || i - candidate > MAX_OFFSET || read32(src, candidate) !== sequence) {
        i += 1;
        continue;
      }
      let length = MIN_MATCH;
      while (i + length < matchEnd && src[candidate + length] === src[i + length]) length += 1;
      emit(i, i - candidate, length);
      i += length;
      anchor = i;
    }
  }
  emit(n, 0, 0);
  return out.subarray(0, o);
}
