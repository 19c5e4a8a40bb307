/**
 * The base error of every area of streaming-etl. Each area (config, source, sink, checkpoint,
 * replay, local services) derives its own error from it, so a caller can tell what failed, why
 * (`cause` is kept), and whether doing it again can help (`retriable`). Programmer errors and bad
 * input are never retriable.
 */
export class EtlError extends Error {
  /** True when the same call may succeed if made again (throttling, a transient network fault). */
  readonly retriable: boolean;

  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad configuration: one or more properties or flags are missing or invalid. Lists every problem. */
export class ConfigError extends EtlError {
  /** Every problem found, each naming the property (or flag) and the value received. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options: { cause?: unknown } = {}) {
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration (${problems.length} problems):\n  - ${problems.join('\n  - ')}`,
      options,
    );
    this.problems = problems;
  }
}

/** A command-line usage error: an unknown flag, a missing value. The CLI prints it with the usage hint. */
export class UsageError extends EtlError {}

/** Renders an error and its chain of causes on one line, for logs and CLI messages. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth += 1) {
    if (current instanceof Error) {
      parts.push(`${current.name}: ${current.message}`);
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join(' <- caused by ');
}

/** Whether an error says the operation may be retried (ours, the AWS SDK's, or a network error). */
export function isRetriable(error: unknown): boolean {
  if (error instanceof EtlError) return error.retriable;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { $retryable?: unknown; name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.$retryable !== undefined) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const name = typeof e.name === 'string' ? e.name : '';
  if (/Throttl|ProvisionedThroughputExceeded|LimitExceeded|SlowDown|RequestTimeout|TimeoutError/.test(name)) return true;
  const code = typeof e.code === 'string' ? e.code : '';
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(code);
}
