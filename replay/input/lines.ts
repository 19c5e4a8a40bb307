/**
 * An input object's lines, streaming: gzip is recognised by its magic bytes (1f 8b), whatever the
 * name, and inflated on the fly (concatenated gzip members too); UTF-8; `\n` or `\r\n` endings.
 */
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ReplayInputError } from '../errors.js';

/** Whether the bytes start with the gzip magic number. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Yields the lines of a byte stream (gzip'd or not); the number of each is its index + 1. */
export async function* readLines(raw: Readable, name: string): AsyncGenerator<string> {
  const iterator = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  try {
    while (headBytes < 2) {
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
  let bytes: Readable = replayed;
  if (isGzip(joined)) {
    const gunzip = createGunzip();
    replayed.on('error', (error) => gunzip.destroy(error));
    bytes = replayed.pipe(gunzip);
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
    throw new ReplayInputError(`cannot read ${name}${isGzip(joined) ? ' (gzip)' : ''}`, { cause: error });
  } finally {
    raw.destroy();
  }
  rest += decoder.end();
  if (rest.length > 0) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}
