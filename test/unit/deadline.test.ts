/**
 * withDeadline (common/deadline.ts): the call's signal aborts at the deadline even when a full
 * garbage collection runs while the call waits, which `AbortSignal.any([outer,
 * AbortSignal.timeout(ms)])` does not do on Node 20 (reported as a diagnostic); it follows the
 * outer signal; and its timer ends with the call. No wall-clock bounds: a deadline is checked
 * against a later timer, which Node fires after it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { withDeadline } from '../../common/deadline.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A call that never answers by itself: it settles only when its signal aborts (like kinesalite on an AT_TIMESTAMP with no newer record). */
function neverAnswers(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** Settles with 'aborted' or 'still waiting' once a timer ten times the deadline fired. */
async function outcome(call: Promise<unknown>, deadlineMs: number): Promise<string> {
  const verdict = call.then(
    () => 'answered',
    (error: unknown) => `aborted: ${(error as Error).name}`,
  );
  const later = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), deadlineMs * 10));
  // A full collection while the call waits.
  await new Promise((resolve) => setTimeout(resolve, deadlineMs / 5));
  gc();
  return Promise.race([verdict, later]);
}

describe('withDeadline', () => {
  test('aborts the call at its deadline even when a garbage collection runs while it waits', async (t) => {
    const outer = new AbortController();
    const calls = Array.from({ length: 10 }, () => withDeadline(100, outer.signal, neverAnswers));
    const results = await Promise.all(calls.map((call) => outcome(call, 100)));
    assert.deepEqual(results, Array(10).fill('aborted: TimeoutError'));

    // What the code did before, for comparison (Node's behaviour, not asserted: a fixed Node would abort these too).
    const composite = Array.from({ length: 10 }, () => neverAnswers(AbortSignal.any([outer.signal, AbortSignal.timeout(100)])));
    const before = await Promise.all(composite.map((call) => outcome(call, 100)));
    t.diagnostic(`AbortSignal.any([outer, AbortSignal.timeout(100)]) on ${process.version} after a GC: ${before.filter((r) => r === 'still waiting').length} of 10 never aborted`);
    outer.abort();
    await Promise.allSettled(composite);
  });

  test('aborts with the outer signal, and an outer signal already aborted aborts at once', async () => {
    const outer = new AbortController();
    const call = withDeadline(60_000, outer.signal, neverAnswers);
    outer.abort(new Error('stopping'));
    await assert.rejects(call, /stopping/);
    await assert.rejects(withDeadline(60_000, outer.signal, neverAnswers), /stopping/);
  });

  test('a call that answers in time keeps its answer, and its signal is not aborted afterwards', async () => {
    let seen: AbortSignal | undefined;
    const answer = await withDeadline(50, undefined, async (signal) => {
      seen = signal;
      return 'answer';
    });
    assert.equal(answer, 'answer');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(seen?.aborted, false, 'the deadline timer was cleared when the call settled');
  });
});
