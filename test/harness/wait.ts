// Polling with a deadline and a message that says what never happened.
import { setTimeout as sleep } from 'node:timers/promises';
import { HarnessError } from './errors.ts';

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Resolves with the first truthy value of `probe`. Errors thrown by probe count as "not yet",
 * except HarnessErrors (a component exited, say), which are final and rethrown at once.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, opts: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      if (err instanceof HarnessError) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new HarnessError('CAIRN_E_HARNESS_TIMEOUT', `timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${what}${why}`);
    }
    await sleep(opts.intervalMs ?? 200, undefined, { signal: opts.signal });
  }
}
