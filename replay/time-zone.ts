/**
 * Local wall-clock time in an IANA time zone to a UTC instant, DST included, with Intl (no
 * time-zone library). The TLC trip records hold New York local times without an offset.
 *
 * The two DST edge cases resolve as java.time's `ZonedDateTime.ofLocal` and Temporal's
 * `disambiguation: 'compatible'` do:
 * - a wall time in the spring-forward gap (it never happened, e.g. 2018-03-11 02:30 in New York)
 *   is read with the offset in force before the gap, i.e. moved forward by the gap's length
 *   (02:30 EST = 03:30 EDT = 07:30Z);
 * - a wall time in the fall-back overlap (it happened twice, e.g. 2018-11-04 01:30) is the
 *   earlier of the two instants (01:30 EDT = 05:30Z, not 01:30 EST = 06:30Z).
 */

/** The time zone of the NYC TLC trip records. */
export const NEW_YORK = 'America/New_York';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's offset from UTC (local minus UTC, ms) at a UTC instant; whole seconds. */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(Math.floor(utcMs / 1000) * 1000))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const local = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  return local - Math.floor(utcMs / 1000) * 1000;
}

const DAY_MS = 86_400_000;
const caches = new Map<string, Map<number, number>>();

/**
 * The UTC instant (epoch ms) of a local wall time in `timeZone`. `localMs` is the wall time
 * encoded as if it were UTC (`Date.UTC(y, m - 1, d, h, min, s, ms)`). Gap and overlap: see the module comment.
 */
export function localToUtc(localMs: number, timeZone: string): number {
  const minute = Math.floor(localMs / 60_000) * 60_000;
  let cache = caches.get(timeZone);
  if (!cache) {
    cache = new Map();
    caches.set(timeZone, cache);
  }
  let offset = cache.get(minute);
  if (offset === undefined) {
    // Offsets a day before and after bracket any single transition.
    const before = zoneOffsetMs(minute - DAY_MS, timeZone);
    const after = zoneOffsetMs(minute + DAY_MS, timeZone);
    const valid = [before, after].filter((o) => zoneOffsetMs(minute - o, timeZone) === o);
    if (valid.length === 0) offset = before; // in the gap: the offset before it (moves forward)
    else offset = Math.max(...valid); // in the overlap: the larger offset is the earlier instant
    if (cache.size > 100_000) cache.clear();
    cache.set(minute, offset);
  }
  return localMs - offset;
}
