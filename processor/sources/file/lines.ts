/**
 * The file source's positions and line splitting. A file's checkpoint position is
 * `<lines>:<bytes>`: the number of lines consumed and the byte offset just after the last of them,
 * in the file's decompressed content. A plain file resumes by reading from that byte offset; a
 * gzip file is decompressed from its start and the first `<bytes>` bytes are skipped. Line numbers
 * (1-based, for dead letters) continue from `<lines>`. `SHARD_END` marks a file read to its end.
 */
import { SHARD_END } from '../../checkpoint/types.js';
import { SourceError } from '../errors.js';

/** Where reading a file resumes. */
export interface FilePosition {
  /** Lines consumed (blank ones included). */
  readonly lines: number;
  /** Bytes of the decompressed content consumed (up to and including the last line's newline). */
  readonly bytes: number;
}

/** The position of a file nothing was read from yet. */
export const FILE_START = '0:0';

/** `<lines>:<bytes>`. */
export function formatFilePosition(position: FilePosition): string {
  return `${position.lines}:${position.bytes}`;
}

/** Parses a checkpoint position; undefined for SHARD_END (nothing left to read). */
export function parseFilePosition(file: string, position: string): FilePosition | undefined {
  if (position === SHARD_END) return undefined;
  const match = /^(\d+):(\d+)$/.exec(position);
  if (!match) throw new SourceError(`the checkpoint of ${file} is not a file position (<lines>:<bytes>): ${JSON.stringify(position)}`);
  return { lines: Number(match[1]), bytes: Number(match[2]) };
}

/** One complete line (without its line terminator) and where reading resumes after it. */
export interface Line {
  readonly data: Uint8Array;
  /** 1-based line number in the file. */
  readonly number: number;
  /** The position after this line. */
  readonly after: FilePosition;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines, counting from a resume position. Feed it the bytes that follow
 * `from.bytes` (the caller skips what precedes); `push` returns the complete lines, `end` the last
 * one when the content does not end with a newline. A `\r\n` terminator is removed whole.
 */
export class LineSplitter {
  #pending: Uint8Array[] = [];
  #pendingLength = 0;
  #lines: number;
  #bytes: number;

  constructor(from: FilePosition = { lines: 0, bytes: 0 }) {
    this.#lines = from.lines;
    this.#bytes = from.bytes;
  }

  /** The position after the last complete line returned. */
  get position(): FilePosition {
    return { lines: this.#lines, bytes: this.#bytes };
  }

  push(chunk: Uint8Array): Line[] {
    const out: Line[] = [];
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, i);
      const length = this.#pendingLength + piece.length;
      const whole = this.#pendingLength === 0 ? piece : concat([...this.#pending, piece], length);
      this.#pending = [];
      this.#pendingLength = 0;
      out.push(this.#line(whole, length + 1));
      start = i + 1;
    }
    if (start < chunk.length) {
      // Copied: the caller may reuse its buffer.
      this.#pending.push(chunk.slice(start));
      this.#pendingLength += chunk.length - start;
    }
    return out;
  }

  /** The last line when the content did not end with a newline. */
  end(): Line | undefined {
    if (this.#pendingLength === 0) return undefined;
    const whole = concat(this.#pending, this.#pendingLength);
    const length = this.#pendingLength;
    this.#pending = [];
    this.#pendingLength = 0;
    return this.#line(whole, length);
  }

  #line(raw: Uint8Array, consumed: number): Line {
    this.#lines += 1;
    this.#bytes += consumed;
    const data = raw.length > 0 && raw[raw.length - 1] === CR ? raw.subarray(0, raw.length - 1) : raw;
    return { data, number: this.#lines, after: { lines: this.#lines, bytes: this.#bytes } };
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Whether a line holds only white space (skipped, but counted). */
export function isBlank(data: Uint8Array): boolean {
  for (const byte of data) if (byte !== 0x20 && byte !== 0x09 && byte !== CR) return false;
  return true;
}
