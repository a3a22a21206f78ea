import { describe, expect, it } from 'vitest';
import { isCairnError } from '../errors.ts';
import { StoreError } from './failures.ts';
import { backoffCeiling, backoffDelay, defaultRetryPolicy, resolveRetryPolicy, withRetry, type RetryContext } from './retry.ts';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

function s3Error(status: number, code: string): Error {
  return Object.assign(new Error(`server text for ${code}`), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}

const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({ operation: 'PutObject', bucket: 'b', key: 'p/k', policy: { ...policy, baseDelayMs: 1, maxDelayMs: 2 }, ...over });

describe('backoff', () => {
  it('doubles the ceiling per retry from the base, capped at the maximum', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(n, policy))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('uses full jitter: anywhere from 0 up to the ceiling', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(3, policy, () => 0.9999)).toBe(399);
    const samples = Array.from({ length: 2000 }, () => backoffDelay(2, policy));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(200);
    expect(Math.max(...samples)).toBeGreaterThan(150); // spread over the whole interval, not clustered
  });
  it('defaults to 6 attempts, 250 ms base, 20 s cap; maxAttempts overrides', () => {
    expect(defaultRetryPolicy).toEqual({ maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 20_000 });
    expect(resolveRetryPolicy({ baseDelayMs: 5 }, 2)).toEqual({ maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20_000 });
    expect(() => resolveRetryPolicy(undefined, 0)).toThrow(RangeError);
  });
});

describe('withRetry', () => {
  it('retries a 503 SlowDown and returns the later success', async () => {
    let n = 0;
    const r = await withRetry(ctx(), () => {
      n++;
      return n < 3 ? Promise.reject(s3Error(503, 'SlowDown')) : Promise.resolve('ok');
    });
    expect([r, n]).toEqual(['ok', 3]);
  });
  it('retries a connection reset', async () => {
    let n = 0;
    await withRetry(ctx(), () => (++n === 1 ? Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })) : Promise.resolve()));
    expect(n).toBe(2);
  });
  it('does not retry AccessDenied and names operation, bucket and key but not the server text', async () => {
    let n = 0;
    const err = await withRetry(ctx(), () => {
      n++;
      return Promise.reject(s3Error(403, 'AccessDenied'));
    }).catch((e: unknown) => e);
    expect(n).toBe(1);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'CAIRN_E_STORE_ACCESS_DENIED', attempts: 1, httpStatus: 403, s3Code: 'AccessDenied' });
    expect((err as Error).message).toBe('PutObject s3://b/p/k failed: HTTP 403 AccessDenied');
  });
  it('gives up after maxAttempts with CAIRN_E_STORE_UNAVAILABLE', async () => {
    let n = 0;
    const err = await withRetry(ctx(), () => {
      n++;
      return Promise.reject(s3Error(503, 'ServiceUnavailable'));
    }).catch((e: unknown) => e);
    expect(n).toBe(4);
    expect(err).toMatchObject({ code: 'CAIRN_E_STORE_UNAVAILABLE', attempts: 4 });
  });
  it('stops waiting and reports CAIRN_E_ABORTED when the signal fires during a backoff', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = withRetry(ctx({ policy: { maxAttempts: 5, baseDelayMs: 10_000, maxDelayMs: 10_000 }, signal: ac.signal }), () => Promise.reject(s3Error(503, 'SlowDown')));
    setTimeout(() => ac.abort(), 50);
    const err = await p.catch((e: unknown) => e);
    expect(isCairnError(err, 'CAIRN_E_ABORTED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
