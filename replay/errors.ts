/** Errors of the replay tool. */
import { EtlError } from '../common/errors.js';

/** The base error of the replay tool. */
export class ReplayError extends EtlError {}

/** An input could not be listed, opened or read (a missing file, an S3 error, a corrupt gzip stream). */
export class ReplayInputError extends ReplayError {}

/**
 * One input row that cannot become an event: wrong column count, an unparsable number or date,
 * invalid JSON, a missing timestamp attribute. Names where (source and line), and what (column and value).
 */
export class InvalidRowError extends ReplayError {
  /** The input object (file path or s3:// URL). */
  readonly source: string;
  /** The 1-based line number in that object. */
  readonly line: number;
  /** The column or attribute at fault, if one is. */
  readonly column: string | undefined;
  /** The offending value, if one is. */
  readonly value: string | undefined;

  constructor(reason: string, where: { source: string; line: number; column?: string; value?: string }) {
    const what = where.column === undefined ? '' : ` column ${where.column}${where.value === undefined ? '' : ` value ${JSON.stringify(where.value)}`}`;
    super(`${where.source} line ${where.line}:${what}: ${reason}`);
    this.source = where.source;
    this.line = where.line;
    this.column = where.column;
    this.value = where.value;
  }
}
