// Retries of S3 requests: exponential backoff with full jitter (AWS Architecture Blog,
// "Exponential Backoff And Jitter"), only for failures that another attempt can fix, and never
// past the caller's AbortSignal. The SDK's own retries are off (maxAttempts 1): one policy, one
// place, visible in logs, and the same for a whole-body GET whose body breaks after the headers.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import { classify, storeError, where, type Failure, type StoreErrorContext } from './failures.ts';

export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  /** Ceiling of the first retry's delay; doubles per retry. */
  baseDelayMs: number;
  /** No delay is ever longer than this. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 20_000 };

export function resolveRetryPolicy(p: Partial<RetryPolicy> | undefined, maxAttempts: number | undefined): RetryPolicy {
  const policy = { ...defaultRetryPolicy, ...p, ...(maxAttempts !== undefined ? { maxAttempts } : {}) };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1 || policy.maxAttempts > 50) throw new RangeError(`maxAttempts must be an integer from 1 to 50, got ${policy.maxAttempts}`);
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= policy.baseDelayMs)) throw new RangeError('retry delays must satisfy 0 <= baseDelayMs <= maxDelayMs');
  return policy;
}

/** The upper bound of the delay before retry number `retry` (1 = the first retry). */
export function backoffCeiling(retry: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
}

/** Full jitter: uniform in [0, ceiling). `random` is injectable for tests. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(retry, policy));
}

export interface RetryContext extends StoreErrorContext {
  policy: RetryPolicy;
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails in a way retrying cannot fix, or maxAttempts is
 * reached. Errors become StoreErrors naming operation, bucket and key. `attempt` gets the
 * attempt number (1-based) and must be safe to repeat: the same request on the same key.
 */
export async function withRetry<T>(ctx: RetryContext, attempt: (n: number) => Promise<T>, onFailure?: (f: Failure, n: number) => Failure): Promise<T> {
  const { policy, signal, logger } = ctx;
  for (let n = 1; ; n++) {
    if (signal?.aborted) throw storeError({ code: 'CAIRN_E_ABORTED', retryable: false, detail: 'aborted' }, ctx, n - 1);
    let failure: Failure;
    try {
      return await attempt(n);
    } catch (err) {
      failure = classify(err);
      if (onFailure) failure = onFailure(failure, n);
    }
    if (signal?.aborted) throw storeError({ code: 'CAIRN_E_ABORTED', retryable: false, detail: 'aborted' }, ctx, n);
    if (!failure.retryable || n >= policy.maxAttempts) throw storeError(failure, ctx, n);
    const delayMs = backoffDelay(n, policy);
    logger?.warn({ operation: ctx.operation, target: where(ctx), attempt: n, of: policy.maxAttempts, delayMs, reason: failure.detail }, 'object store request failed; retrying');
    try {
      await sleep(delayMs, undefined, signal ? { signal } : undefined);
    } catch {
      throw storeError({ code: 'CAIRN_E_ABORTED', retryable: false, detail: 'aborted' }, ctx, n);
    }
  }
}
