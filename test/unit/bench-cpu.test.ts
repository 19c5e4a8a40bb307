/**
 * The scale-out bench's CPU accounting: the per-thread split read from /proc (bench/worker.ts) and
 * the per-function steady state of the workers' CPU profiles (bench/profile-diff.ts), and the fit
 * of each worker's CPU into fixed, per-second and per-event costs (bench/scale-out.ts). No timing
 * is asserted: /proc is read for this process's own threads, profiles are built by hand.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgsFlag, numberFlag } from '../../bench/args.js';
import { readThreadCpu } from '../../bench/worker.js';
import { selfTimes, steadyByFunction } from '../../bench/profile-diff.js';
import { fitCosts, leastSquares, type ScaleOutRound } from '../../bench/scale-out.js';

/** A profile of two functions under a root: `samples` name which node each sample hit. */
function profile(samples: readonly ('a' | 'b' | 'gc')[], deltaUs: number): object {
  const ids = { a: 2, b: 3, gc: 4 };
  return {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'append', url: 'file:///x/dist/processor/columns.js', lineNumber: 9 } },
      { id: 3, callFrame: { functionName: 'render', url: 'file:///x/node_modules/lib/index.js', lineNumber: 0 } },
      { id: 4, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
    ],
    samples: samples.map((s) => ids[s]),
    timeDeltas: samples.map(() => deltaUs),
  };
}

describe('readThreadCpu', { skip: !existsSync('/proc/self/task') && 'no /proc here' }, () => {
  test('names this process main thread by its pid and counts the CPU it spent', () => {
    const before = readThreadCpu(process.pid);
    assert.ok(before?.has(process.pid), 'the main thread (tid = pid) is listed');
    let x = 0;
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 300_000) x += Math.sqrt(x + 1);
    assert.ok(x > 0);
    const after = readThreadCpu(process.pid)!.get(process.pid)!;
    const was = before!.get(process.pid)!;
    assert.ok(after.user + after.system > was.user + was.system, `main thread CPU grew: ${JSON.stringify(was)} -> ${JSON.stringify(after)}`);
  });

  test('a process that does not exist has no threads', () => {
    assert.equal(readThreadCpu(2 ** 30), undefined);
  });
});

describe('profile-diff', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'profile-diff-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('self time per function: each time delta goes to the sample before it', () => {
    const times = selfTimes(profile(['a', 'a', 'b', 'gc'], 1000) as never);
    // Four samples, 1 ms apart: the last sample has no delta after it.
    assert.deepEqual(Object.fromEntries(times), { 'append dist/processor/columns.js:10': 2, 'render node_modules/lib/index.js:1': 1, '(garbage collector)': 0 });
  });

  test('steady state per function: large minus small round, summed over workers, per 1,000 extra events', async () => {
    const write = async (round: string, files: Record<string, object>): Promise<void> => {
      await mkdir(join(dir, round), { recursive: true });
      for (const [name, p] of Object.entries(files)) await writeFile(join(dir, round, name), JSON.stringify(p));
    };
    // One worker: 'a' 4 ms in the small round, 10 ms in the large; two workers: 'a' 3+3 small, 9+9 large.
    await write('scale-small-workers-1-r1', { 'w1.cpuprofile': profile(['a', 'a', 'a', 'a', 'b'], 1000) });
    await write('scale-large-workers-1-r1', { 'w1.cpuprofile': profile([...Array<'a'>(10).fill('a'), 'b'], 1000) });
    await write('scale-small-workers-2-r1', { 'w1.cpuprofile': profile(['a', 'a', 'a', 'b'], 1000), 'w2.cpuprofile': profile(['a', 'a', 'a', 'b'], 1000) });
    await write('scale-large-workers-2-r1', { 'w1.cpuprofile': profile([...Array<'a'>(9).fill('a'), 'b'], 1000), 'w2.cpuprofile': profile([...Array<'a'>(9).fill('a'), 'b'], 1000) });
    await writeFile(join(dir, 'not-a-round.txt'), 'ignored');
    const steady = steadyByFunction(dir, 2000);
    assert.deepEqual([...steady.keys()].sort(), [1, 2]);
    assert.equal(steady.get(1)!.get('append dist/processor/columns.js:10'), (10 - 4) / 2);
    assert.equal(steady.get(2)!.get('append dist/processor/columns.js:10'), (18 - 6) / 2);
    assert.equal(steady.get(2)!.get('render node_modules/lib/index.js:1'), 0);
  });
});

describe('fitCosts', () => {
  /** A round whose workers spent exactly fixed + perEvent × events + perSecond × wall. */
  function round(workers: number, events: readonly number[], wallSeconds: number, perEvent: number): ScaleOutRound {
    return {
      workers,
      events: events.reduce((a, b) => a + b, 0),
      cpuSeconds: 0,
      wallSeconds,
      eventsOutPerWorker: events,
      checkpointsPerWorker: events.map(() => 1),
      cpuPerWorker: events.map((e) => 2 + perEvent * e + 0.02 * wallSeconds),
      threadsPerWorker: [],
      phasesPerWorker: [],
      load: 0,
    };
  }

  test('separates the per-second cost from the per-event cost of each worker count', () => {
    // Three workers take longer (a loaded machine) but cost the same per event as one: the
    // difference of two rounds alone would charge their per-second cost to the events.
    const rounds = [round(1, [50_000], 6, 1e-5), round(1, [150_000], 10, 1e-5), round(3, [18_000, 18_000, 14_000], 14, 1e-5), round(3, [56_000, 56_000, 38_000], 26, 1e-5)];
    const fit = fitCosts(rounds, (r) => r.workers - 1 - (r.workers === 3 ? 1 : 0), 2);
    assert.ok(Math.abs(fit.fixed - 2) < 1e-6, `fixed ${fit.fixed}`);
    assert.ok(Math.abs(fit.perSecond - 0.02) < 1e-9, `per second ${fit.perSecond}`);
    for (const perEvent of fit.perEvent) assert.ok(Math.abs(perEvent - 1e-5) < 1e-12, `per event ${perEvent}`);
  });

  test('a worker that read nothing is left out, and a costlier worker count shows', () => {
    const rounds = [round(1, [50_000], 6, 1e-5), round(1, [150_000], 10, 1e-5), round(3, [50_000, 0, 0], 8, 1.5e-5), round(3, [18_000, 18_000, 14_000], 14, 1.5e-5), round(3, [56_000, 56_000, 38_000], 26, 1.5e-5)];
    // The idle workers' 2 s + 0.16 s would not fit 2 + 1.5e-5 × 0: they are not rows of the fit.
    rounds[2] = { ...rounds[2]!, cpuPerWorker: [2 + 1.5e-5 * 50_000 + 0.16, 0.7, 0.7] };
    const fit = fitCosts(rounds, (r) => (r.workers === 1 ? 0 : 1), 2);
    assert.ok(Math.abs(fit.perEvent[1]! / fit.perEvent[0]! - 1.5) < 1e-6, `ratio ${fit.perEvent[1]! / fit.perEvent[0]!}`);
  });

  test('rounds that cannot separate the costs are an error, not a figure', () => {
    assert.throws(() => leastSquares([[1, 2], [2, 4]], [1, 2]), /not determined/);
  });
});

describe('bench flags', () => {
  test('--node-args takes a value that starts with --, split on spaces', () => {
    assert.deepEqual(nodeArgsFlag(['node', 'bench.ts', '--node-args', '--max-semi-space-size=64  --single-threaded-gc', '--repeat', '3']), ['--max-semi-space-size=64', '--single-threaded-gc']);
    assert.equal(nodeArgsFlag(['node', 'bench.ts', '--repeat', '3']), undefined);
    assert.throws(() => nodeArgsFlag(['node', 'bench.ts', '--node-args']), /--node-args needs a value/);
  });

  test('--repeat is a positive integer', () => {
    assert.equal(numberFlag('--repeat', ['node', 'bench.ts', '--repeat', '3']), 3);
    assert.throws(() => numberFlag('--repeat', ['node', 'bench.ts', '--repeat', '0']), /--repeat needs a positive integer, got 0/);
  });
});
