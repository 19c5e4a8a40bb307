import { SinkError } from '../errors.js';

/** Talking to OpenSearch failed: a request the node refused for good, or retries that ran out. */
export class OpenSearchSinkError extends SinkError {
  /** The HTTP status the node answered, when it answered. */
  readonly status: number | undefined;

  constructor(message: string, options: { cause?: unknown; retriable?: boolean; status?: number } = {}) {
    super(message, options);
    this.status = options.status;
  }
}
