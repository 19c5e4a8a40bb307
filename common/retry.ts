/**
 * The one retry helper: exponential backoff with full jitter, a bound on attempts, and a `bail`
 * that stops retrying at once. Errors that are not retriable (see `isRetriable`) are never retried.
 */
import { EtlError, describeError, isRetriable } from './errors.js';

/** A retriable call failed on every attempt; `cause` is the last error. */
export class RetryExhaustedError extends EtlError {
  /** How many attempts were made. */
  readonly attempts: number;

  constructor(attempts: number, cause: unknown) {
    super(`gave up after ${attempts} attempts: ${describeError(cause)}`, { cause });
    this.attempts = attempts;
  }
}

/** How a call is retried. */
export interface RetryOptions {
  /** Attempts in all, the first included. @default 8 */
  readonly maxAttempts?: number;
  /** The first backoff, in ms. @default 100 */
  readonly initialDelayMs?: number;
  /** The largest backoff, in ms. @default 5000 */
  readonly maxDelayMs?: number;
  /** Which errors are worth another attempt. @default isRetriable */
  readonly retryOn?: (error: unknown) => boolean;
  /** Called before each wait, for logs and counters. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Aborts the waits (and the retrying) when signalled. */
  readonly signal?: AbortSignal;
}

/** Thrown by `bail` to stop retrying with the given error. */
class Bail extends Error {
  constructor(readonly inner: unknown) {
    super('bail');
  }
}

/** Sleeps `ms`, resolving early (without error) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The backoff before attempt `attempt + 1` (attempt counts from 1): full jitter over an exponential cap. */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number): number {
  const cap = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

/**
 * Runs `fn` until it succeeds, the error is not retriable, `bail` is called, or the attempts run out.
 * A non-retriable or bailed error is thrown as it was; when the attempts run out, a
 * `RetryExhaustedError` says so and keeps the last error as its cause. This is the only retry layer:
 * the AWS SDK clients make one attempt per call (see common/aws.ts).
 */
export async function retry<T>(
  fn: (bail: (error: unknown) => never, attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 8;
  const initial = options.initialDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 5000;
  const retryOn = options.retryOn ?? isRetriable;
  const bail = (error: unknown): never => {
    throw new Bail(error);
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(bail, attempt);
    } catch (error) {
      if (error instanceof Bail) throw error.inner;
      if (!retryOn(error) || options.signal?.aborted) throw error;
      if (attempt >= maxAttempts) throw new RetryExhaustedError(attempt, error);
      const delay = backoffDelay(attempt, initial, maxDelay);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}
