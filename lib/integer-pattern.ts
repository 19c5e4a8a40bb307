/**
 * A regular expression (without anchors) that matches exactly the decimal integers from `min` to
 * `max` (or any larger one when `max` is undefined), written without sign or leading zeros. The
 * stack uses it as a parameter's AllowedPattern, because CloudFormation's MinValue/MaxValue apply
 * only to Number parameters, which accept fractions such as 1.5 that the processor refuses.
 */
export function integerRangePattern(min: number, max?: number): string {
  if (!Number.isSafeInteger(min) || min < 0) throw new Error(`integerRangePattern: min must be a non-negative integer, got ${min}`);
  if (max !== undefined && (!Number.isSafeInteger(max) || max < min)) throw new Error(`integerRangePattern: max must be an integer of at least min (${min}), got ${max}`);
  const alternatives: string[] = [];
  const lo = String(min);
  const hi = max === undefined ? undefined : String(max);
  const lastLength = hi?.length ?? lo.length;
  for (let n = lo.length; n <= lastLength; n++) {
    const from = n === lo.length ? lo : `1${'0'.repeat(n - 1)}`;
    const to = hi !== undefined && n === hi.length ? hi : '9'.repeat(n);
    alternatives.push(sameLength(from, to));
  }
  // Unbounded: every number with more digits than the largest bounded length.
  if (hi === undefined) alternatives.push(`[1-9][0-9]{${lastLength},}`);
  return `(${alternatives.join('|')})`;
}

/** The numbers from `lo` to `hi`, both of the same number of digits. */
function sameLength(lo: string, hi: string): string {
  const n = lo.length;
  const a = Number(lo[0]);
  const b = Number(hi[0]);
  if (n === 1) return a === b ? String(a) : `[${a}-${b}]`;
  const restLo = lo.slice(1);
  const restHi = hi.slice(1);
  if (a === b) return `${a}${sameLength(restLo, restHi)}`;
  if (/^0*$/.test(restLo) && /^9*$/.test(restHi)) return `[${a}-${b}][0-9]{${n - 1}}`;
  const parts = [`${a}${sameLength(restLo, '9'.repeat(n - 1))}`];
  if (b - a > 1) parts.push(`[${a + 1}-${b - 1}][0-9]{${n - 1}}`);
  parts.push(`${b}${sameLength('0'.repeat(n - 1), restHi)}`);
  return `(${parts.join('|')})`;
}
