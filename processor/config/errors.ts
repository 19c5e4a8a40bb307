/**
 * The errors of the configuration module. Bad properties are reported as one `ConfigError` listing
 * every problem (`common/errors.ts`); unknown CLI flags as a `UsageError`. The partition-template
 * engine has its own two errors: one for a template that does not compile (a configuration
 * problem), one for an event whose value cannot be rendered (a data problem: the record goes to
 * the dead-letter output).
 */
import { EtlError } from '../../common/errors.js';

/** A partition template that does not compile: names the template, the position (0-based) and the problem. */
export class PartitionTemplateError extends EtlError {
  /** The template as given. */
  readonly template: string;
  /** The 0-based character offset of the problem in the template. */
  readonly position: number;
  /** The problem alone, without the template and the position. */
  readonly problem: string;

  constructor(template: string, position: number, problem: string) {
    super(`partition template "${template}" at position ${position}: ${problem}`);
    this.template = template;
    this.position = position;
    this.problem = problem;
  }
}

/** An event value a partition template cannot render (e.g. text where `%03d` wants an integer). Never retriable. */
export class PartitionValueError extends EtlError {
  /** The event field (or `job_start`). */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`partition field "${field}": ${message}`);
    this.field = field;
  }
}
