/**
 * The JSON-lines file format: one JSON object per event and line, fields in schema order.
 * Longs are written as exact JSON integers (readers that parse into doubles round those above
 * 2^53: that is theirs to handle), timestamps as ISO-8601 UTC strings, missing values as null.
 */
import type { DecodedEvent, EventSchema, FileEncoder } from './types.js';

/** Content-Type of JSON-lines objects. */
export const JSON_LINES_CONTENT_TYPE = 'application/x-ndjson';

/** Creates an encoder writing one JSON-lines file. */
export function createJsonLinesEncoder(schema: EventSchema): FileEncoder {
  return new JsonLinesEncoder(schema);
}

class JsonLinesEncoder implements FileEncoder {
  readonly #prefixes: readonly string[];
  readonly #timestamps: readonly boolean[];
  #lines: string[] = [];
  #count = 0;
  #chars = 0;
  #finished = false;

  constructor(schema: EventSchema) {
    this.#prefixes = schema.fields.map((f, i) => `${i === 0 ? '{' : ','}${JSON.stringify(f.name)}:`);
    this.#timestamps = schema.fields.map((f) => f.type === 'timestamp-millis');
  }

  get count(): number {
    return this.#count;
  }

  /** The characters written so far (equal to the bytes for ASCII data). */
  get estimatedBytes(): number {
    return this.#chars;
  }

  append(event: DecodedEvent): void {
    if (this.#finished) throw new Error('JSON-lines encoder used after finish()');
    const values = event.values;
    const prefixes = this.#prefixes;
    let line = '';
    for (let i = 0; i < prefixes.length; i += 1) {
      const value = values[i];
      let text: string;
      if (value === null || value === undefined) text = 'null';
      else if (typeof value === 'string') text = JSON.stringify(value);
      else if (typeof value === 'number') text = this.#timestamps[i] === true ? `"${new Date(value).toISOString()}"` : String(value);
      else text = String(value); // bigint (exact digits) or boolean
      line += (prefixes[i] as string) + text;
    }
    line += '}\n';
    this.#lines.push(line);
    this.#count += 1;
    this.#chars += line.length;
  }

  finish(): Promise<Uint8Array> {
    this.#finished = true;
    const bytes = new TextEncoder().encode(this.#lines.join(''));
    this.#lines = [];
    return Promise.resolve(bytes);
  }
}
