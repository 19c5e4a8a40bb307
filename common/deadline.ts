/**
 * A call with a deadline and an outer abort signal. `AbortSignal.any([outer, AbortSignal.timeout(ms)])`
 * is not used: on Node 20 (20.20.2 here) a garbage collection while such a signal waits lets the
 * timeout signal be collected, and the composite signal then never aborts on time, even with a
 * listener on it (nodejs/node#57736; `test/unit/deadline.test.ts` shows it). The AT_TIMESTAMP probe's
 * 10 s deadline then waited for the HTTP request timeout (120 s) instead. Here the deadline is a
 * plain timer that holds its controller, cleared when the call settles.
 */

/** Runs `call` with a signal that aborts when `outer` does, or after `ms` with a `TimeoutError` reason. */
export async function withDeadline<T>(ms: number, outer: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  try {
    return await call(controller.signal);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', forward);
  }
}
