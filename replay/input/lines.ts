/**
 * An input object's lines, streaming. Compression is recognised by its magic bytes, whatever the
 * name: gzip (1f 8b; concatenated members too) and LZ4 frames (04 22 4d 18; concatenated frames
 * too), each decompressed on the fly. A name ending in `.gz` or `.lz4` whose bytes do not start
 * with that magic is an error naming the object. UTF-8; `\n` or `\r\n` endings.
 */
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createLz4FrameDecoder, isLz4Frame } from '../../common/lz4-frame.js';
import { ReplayInputError } from '../errors.js';

/** Whether the bytes start with the gzip magic number. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** The compression of an object by its magic bytes. */
export function compressionOf(head: Uint8Array): 'gzip' | 'lz4' | undefined {
  if (isGzip(head)) return 'gzip';
  if (isLz4Frame(head)) return 'lz4';
  return undefined;
}

/** Yields the lines of a byte stream (plain, gzip or LZ4 frame); the number of each is its index + 1. */
export async function* readLines(raw: Readable, name: string): AsyncGenerator<string> {
  const iterator = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  try {
    while (headBytes < 4) {
      const next = await iterator.next();
      if (next.done) {
        ended = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      head.push(chunk);
      headBytes += chunk.length;
    }
  } catch (error) {
    throw new ReplayInputError(`cannot read ${name}`, { cause: error });
  }
  const joined = Buffer.concat(head);
  const replayed = Readable.from(
    (async function* () {
      if (joined.length > 0) yield joined;
      if (ended) return;
      while (true) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
  );
  const compression = compressionOf(joined);
  const named = /\.gz$/i.test(name) ? 'gzip' : /\.lz4$/i.test(name) ? 'lz4' : undefined;
  if (named !== undefined && compression !== named && joined.length > 0) {
    raw.destroy();
    const magic = named === 'gzip' ? '1f 8b' : '04 22 4d 18';
    throw new ReplayInputError(`${name}: the name says ${named}, but it does not start with the ${named} magic bytes (${magic}); it starts with ${Buffer.from(joined.subarray(0, 4)).toString('hex').replace(/(..)(?=.)/g, '$1 ')}`);
  }
  let bytes: Readable = replayed;
  if (compression !== undefined) {
    const decoder = compression === 'gzip' ? createGunzip() : createLz4FrameDecoder(name);
    replayed.on('error', (error) => decoder.destroy(error));
    bytes = replayed.pipe(decoder);
  }
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of bytes) {
      const text = rest + decoder.write(chunk as Buffer);
      let start = 0;
      let nl = text.indexOf('\n', start);
      while (nl >= 0) {
        yield text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl);
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      rest = text.slice(start);
    }
  } catch (error) {
    throw new ReplayInputError(`cannot read ${name}${compression === undefined ? '' : ` (${compression})`}`, { cause: error });
  } finally {
    raw.destroy();
  }
  rest += decoder.end();
  if (rest.length > 0) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}
