// Exponential backoff with "equal jitter": the n-th delay is drawn from [d/2, d] where
// d = min(initial * 2^(n-1), max). Half of each delay is random, so restarting informers and
// requeued keys do not retry in lockstep; the other half keeps successive delays from shrinking
// (below the cap each one is at least the previous one; at the cap they stay within [max/2, max]), which is what makes the growth testable.

export interface BackoffOptions {
  /** First delay's upper bound, in ms. */
  initialMs: number;
  /** Largest delay, in ms. */
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/** The delay before retry number `failures` (1 = after the first failure), in ms. */
export function backoffDelay(failures: number, o: BackoffOptions = defaultBackoff, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const exp = Math.min(failures - 1, 40); // 2^40 overflows every sane cap already
  const d = Math.min(o.initialMs * 2 ** exp, o.maxMs);
  return Math.round(d / 2 + random() * (d / 2));
}
