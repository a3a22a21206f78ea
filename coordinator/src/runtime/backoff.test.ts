import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('backoffDelay', () => {
  const o = { initialMs: 100, maxMs: 1_000 };

  it('doubles per failure up to the cap, with half of each delay random', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, o, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, o, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });

  it('never shrinks from one failure to the next below the cap, whatever the jitter', () => {
    // 100, 200, 400, 800 are below the cap of 1000: each delay is at least the previous one's largest.
    for (let n = 1; n < 4; n++) expect(backoffDelay(n + 1, o, () => 0)).toBeGreaterThanOrEqual(backoffDelay(n, o, () => 1));
  });

  it('is zero before any failure and stays finite after very many', () => {
    expect(backoffDelay(0, o)).toBe(0);
    expect(backoffDelay(10_000, o, () => 1)).toBe(1_000);
  });
});
