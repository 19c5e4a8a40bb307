import { EtlError } from '../common/errors.js';

/** A local service failed to start, or a resource on it could not be created. */
export class LocalServiceError extends EtlError {}

/**
 * A program a Java-based local service needs (`java`, `mvn`, `unzip`) is missing or unusable. The
 * message says what was looked for, where, and how to install it; tests skip with it.
 */
export class MissingToolError extends LocalServiceError {
  /** The program that is missing. */
  readonly tool: string;

  constructor(tool: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.tool = tool;
  }
}

/** Resolving a service's files from Maven Central failed. `output` holds the end of Maven's output. */
export class DownloadError extends LocalServiceError {
  /** The last lines Maven printed. */
  readonly output: string;

  constructor(message: string, output: string, options: { cause?: unknown } = {}) {
    super(`${message}\n--- last lines of mvn output ---\n${output}`, { ...options, retriable: true });
    this.output = output;
  }
}

/** A Java server (Kafka broker, OpenSearch node) did not come up, or died. `logTail` is the end of its log. */
export class ServiceStartError extends LocalServiceError {
  /** The last lines of the server's own log. */
  readonly logTail: string;

  constructor(message: string, logTail: string, options: { cause?: unknown } = {}) {
    super(`${message}\n--- last lines of its log ---\n${logTail}`, options);
    this.logTail = logTail;
  }
}
