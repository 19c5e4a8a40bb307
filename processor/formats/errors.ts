/**
 * Errors of the formats area: a bad schema file, and an event a file encoder cannot write.
 * (A record that fails decoding is not an error: the decoder returns a reason, and the record
 * goes to the dead-letter output.)
 */
import { EtlError } from '../../common/errors.js';

/** A schema file (or built-in schema name) that cannot be used. Lists every problem found. */
export class SchemaError extends EtlError {
  /** Every problem, each naming the field (or key) and the value received. */
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      problems.length === 1
        ? `invalid schema ${source}: ${problems[0]}`
        : `invalid schema ${source} (${problems.length} problems):\n  - ${problems.join('\n  - ')}`,
      options,
    );
    this.problems = problems;
  }
}

/**
 * An event or a file that an encoder cannot write correctly (e.g. a value the selected Parquet
 * library would silently corrupt). Never retriable: the same input fails again.
 */
export class EncodeError extends EtlError {
  /** The schema field concerned, when the problem is one value. */
  readonly field: string | undefined;

  constructor(message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.field = options.field;
  }
}
