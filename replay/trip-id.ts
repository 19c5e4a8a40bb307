/**
 * trip_id: a 63-bit FNV-1a hash of the row's 1-based line number in its file and the row's raw
 * text. Stable across runs of the same file (also after it is moved or renamed: the path is not
 * hashed), unique per trip (two identical rows differ by line number), non-negative so it fits a
 * Java/Avro `long`, and mostly above 2^53 so that consumers which read JSON numbers as doubles
 * show their loss of precision.
 */

const encoder = new TextEncoder();
const MASK_63 = (1n << 63n) - 1n;

/** The 64-bit FNV-1a hash of `bytes`, exact, in four 16-bit limbs (no BigInt per byte). */
export function fnv1a64(bytes: Uint8Array): bigint {
  // offset basis 0xcbf29ce484222325, low limb first
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < bytes.length; i += 1) {
    h0 ^= bytes[i] as number;
    // h * 0x100000001b3 mod 2^64 = h * 0x1b3 + (h << 40); bit 40 is bit 8 of limb 2.
    const a0 = h0 * 0x1b3;
    const a1 = h1 * 0x1b3 + (a0 >>> 16);
    const a2 = h2 * 0x1b3 + (h0 << 8) + (a1 >>> 16);
    const a3 = h3 * 0x1b3 + (h1 << 8) + (a2 >>> 16);
    h0 = a0 & 0xffff;
    h1 = a1 & 0xffff;
    h2 = a2 & 0xffff;
    h3 = a3 & 0xffff;
  }
  return (BigInt(h3) << 48n) | (BigInt(h2) << 32n) | (BigInt(h1) << 16n) | BigInt(h0);
}

/** The trip_id of a row: 63 bits of FNV-1a over `"<line>:<raw row text>"`. */
export function tripId(line: number, rawRow: string): bigint {
  return fnv1a64(encoder.encode(`${line}:${rawRow}`)) & MASK_63;
}
