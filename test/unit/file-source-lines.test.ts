/**
 * The file source's line splitting and resume positions (`<lines>:<bytes>`): resuming from any
 * position a read reported yields exactly the lines after it, with the same line numbers, whatever
 * the chunk boundaries; the file kinds by extension.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileKind } from '../../processor/sources/file/file-source.js';
import { FILE_START, formatFilePosition, LineSplitter, parseFilePosition, type FilePosition, type Line } from '../../processor/sources/file/lines.js';

const text = new TextEncoder();
const decoder = new TextDecoder();

/** Splits `bytes` read from `from` in chunks of `chunk` bytes; the lines as text, numbers and positions. */
function readAll(bytes: Uint8Array, from: FilePosition, chunk: number): { text: string; number: number; after: string }[] {
  const splitter = new LineSplitter(from);
  const lines: Line[] = [];
  for (let i = from.bytes; i < bytes.length; i += chunk) lines.push(...splitter.push(bytes.slice(i, Math.min(bytes.length, i + chunk))));
  const tail = splitter.end();
  if (tail) lines.push(tail);
  return lines.map((l) => ({ text: decoder.decode(l.data), number: l.number, after: formatFilePosition(l.after) }));
}

describe('file source lines', () => {
  const content = text.encode('{"a":1}\n{"b":"é"}\r\n\n  \n{"c":3}\n{"d":4}');

  test('every line once, numbered from 1, CRLF removed, the last line without a newline kept', () => {
    const lines = readAll(content, { lines: 0, bytes: 0 }, 3);
    assert.deepEqual(lines.map((l) => l.text), ['{"a":1}', '{"b":"é"}', '', '  ', '{"c":3}', '{"d":4}']);
    assert.deepEqual(lines.map((l) => l.number), [1, 2, 3, 4, 5, 6]);
    assert.equal(lines.at(-1)!.after, `6:${content.length}`);
  });

  test('resuming from each reported position, in any chunk size, yields exactly the lines after it', () => {
    const full = readAll(content, { lines: 0, bytes: 0 }, content.length);
    for (let k = 0; k < full.length; k += 1) {
      const from = parseFilePosition('f.jsonl', full[k]!.after)!;
      for (const chunk of [1, 2, 5, 64]) assert.deepEqual(readAll(content, from, chunk), full.slice(k + 1), `from ${full[k]!.after}, chunks of ${chunk}`);
    }
  });

  test('positions: the start, SHARD_END (nothing left) and a malformed one named', () => {
    assert.deepEqual(parseFilePosition('f.jsonl', FILE_START), { lines: 0, bytes: 0 });
    assert.equal(parseFilePosition('f.jsonl', 'SHARD_END'), undefined);
    assert.throws(() => parseFilePosition('f.jsonl', '49590338271490256608559692538361571095921575989136588898'), /checkpoint of f\.jsonl is not a file position/);
  });

  test('file kinds by extension', () => {
    assert.equal(fileKind('a/b.jsonl'), 'plain');
    assert.equal(fileKind('b.NDJSON'), 'plain');
    assert.equal(fileKind('s3://x/b.json.gz'), 'gzip');
    assert.equal(fileKind('b.csv'), undefined);
    assert.equal(fileKind('b.gz'), undefined);
  });
});
