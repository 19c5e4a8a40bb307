/**
 * Splits the scale-out bench's steady state by function: reads the V8 CPU profiles that
 * `bench/scale-out.ts --cpu-prof DIR` writes (`<stream>-workers-<n>-r<repetition>/*.cpuprofile`,
 * one per worker), sums each function's self time over the workers of a round, and prints, per
 * worker count, (large round - small round) per 1,000 extra events, averaged over repetitions.
 * Functions are named `name url:line`; V8's own nodes are `(garbage collector)`, `(program)` and
 * `(idle)`. Profile time is wall time of the main thread while it was sampled: on an
 * oversubscribed machine a thread waiting for a core still collects samples, so compare shares,
 * not absolute times, and use the bench's /proc split for CPU.
 *
 * Run: `npx tsx bench/profile-diff.ts DIR [--small 50000] [--large 150000] [--top 25]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { numberFlag } from './args.js';

interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time (ms) per function of one profile. */
export function selfTimes(profile: CpuProfile): Map<string, number> {
  const names = new Map<number, string>();
  for (const n of profile.nodes) {
    const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/');
    names.set(n.id, n.callFrame.url === '' ? n.callFrame.functionName || '(anonymous)' : `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`);
  }
  const out = new Map<string, number>();
  // timeDeltas[i] is the time since the previous sample: it belongs to the sample before i.
  for (let i = 0; i < profile.samples.length; i += 1) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const name = names.get(profile.samples[i]!) ?? '(unknown)';
    out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}

/** Self time per function summed over every profile in `dir`. */
function roundTimes(dir: string): Map<string, number> {
  const sum = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    for (const [name, ms] of selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile)) sum.set(name, (sum.get(name) ?? 0) + ms);
  }
  return sum;
}

/** Per worker count: function → ms per 1,000 extra events between the small and the large round, averaged over repetitions. */
export function steadyByFunction(dir: string, extraEvents: number): Map<number, Map<string, number>> {
  const byWorkers = new Map<number, Map<string, number>>();
  const reps = new Map<number, number>();
  for (const entry of readdirSync(dir)) {
    const m = /^scale-large-workers-(\d+)-r(\d+)$/.exec(entry);
    if (!m) continue;
    const n = Number(m[1]);
    const large = roundTimes(join(dir, entry));
    const small = roundTimes(join(dir, entry.replace('scale-large', 'scale-small')));
    const acc = byWorkers.get(n) ?? new Map<string, number>();
    for (const name of new Set([...large.keys(), ...small.keys()])) acc.set(name, (acc.get(name) ?? 0) + (large.get(name) ?? 0) - (small.get(name) ?? 0));
    byWorkers.set(n, acc);
    reps.set(n, (reps.get(n) ?? 0) + 1);
  }
  for (const [n, acc] of byWorkers) for (const [name, ms] of acc) acc.set(name, (ms / reps.get(n)! / extraEvents) * 1000);
  return byWorkers;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (dir === undefined || dir.startsWith('--')) throw new Error('usage: profile-diff.ts DIR [--small N] [--large N] [--top N]');
  const small = numberFlag('--small') ?? 50_000;
  const large = numberFlag('--large') ?? 150_000;
  const top = numberFlag('--top') ?? 25;
  const steady = steadyByFunction(dir, large - small);
  const counts = [...steady.keys()].sort((a, b) => a - b);
  const first = steady.get(counts[0]!)!;
  const last = steady.get(counts.at(-1)!)!;
  const total = (m: Map<string, number>, idle: boolean): number => [...m].filter(([k]) => (k === '(idle)') === idle).reduce((s, [, v]) => s + v, 0);
  console.log(`steady-state main-thread profile time, ms per 1,000 extra events (${large} - ${small}), summed over workers`);
  console.log(`  ${'workers'.padEnd(12)}${counts.map((n) => String(n).padStart(10)).join('')}`);
  console.log(`  ${'busy'.padEnd(12)}${counts.map((n) => total(steady.get(n)!, false).toFixed(2).padStart(10)).join('')}`);
  console.log(`  ${'(idle)'.padEnd(12)}${counts.map((n) => total(steady.get(n)!, true).toFixed(2).padStart(10)).join('')}`);
  console.log(`\n  largest growth from ${counts[0]} to ${counts.at(-1)} workers (ms per 1,000 events):`);
  const names = [...new Set([...first.keys(), ...last.keys()])].filter((k) => k !== '(idle)');
  names.sort((a, b) => (last.get(b) ?? 0) - (first.get(b) ?? 0) - ((last.get(a) ?? 0) - (first.get(a) ?? 0)));
  for (const name of [...names.slice(0, top), ...names.slice(-5)]) {
    console.log(`  ${counts.map((n) => (steady.get(n)!.get(name) ?? 0).toFixed(3).padStart(8)).join('')}  ${name}`);
  }
}
