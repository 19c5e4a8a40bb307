/**
 * The peak resident memory of this process. On Linux it is `VmHWM` of /proc/self/status, the
 * high-water mark of this process's own address space. Not `process.resourceUsage().maxRSS`
 * (getrusage): Linux keeps that across exec, so a process started by a large parent reports the
 * parent's resident size at fork (measured: a child holding 39 MiB reported 406 MiB under a
 * 445 MiB parent), which made the benches' peak-RSS figures of the processor those of the bench
 * process. Elsewhere, or when /proc is unreadable, maxRSS is the fallback.
 */
import { readFileSync } from 'node:fs';

/** Peak resident memory in MiB (rounded). */
export function peakRssMiB(): number {
  if (process.platform === 'linux') {
    try {
      const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      if (match) return Math.round(Number(match[1]) / 1024);
    } catch {
      // fall through to getrusage
    }
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
