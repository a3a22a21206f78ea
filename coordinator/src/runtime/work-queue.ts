// Work per object key: serial for one key, parallel across keys up to a bound, deduplicated,
// with delayed and rate-limited requeues (as client-go's workqueue and Pepr's queueKey).
//
// A key is "dirty" from add() until its handler starts. Adding a dirty key again does nothing;
// adding a key whose handler is running marks it dirty, and it runs once more after the running
// call, never concurrently with it. So a key added any number of times while it runs runs once
// more, not once per add.
import type { KubernetesObject } from '@kubernetes/client-node';
import { backoffDelay, type BackoffOptions } from './backoff.ts';

/** What a handler asks for: nothing (done), a run again after a delay, or a rate-limited retry. */
export type ReconcileResult = void | undefined | { requeueAfterMs: number } | { requeue: true };

export type KeyHandler = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

export interface WorkQueueOptions {
  handler: KeyHandler;
  /** Handlers running at once, over different keys. */
  concurrency: number;
  /** Delays of rate-limited retries, per key; reset when the key's handler succeeds. */
  backoff?: BackoffOptions;
  /** Stops the queue: no new runs, running handlers see the signal, delayed adds are dropped. */
  signal?: AbortSignal;
  /** A handler threw; the key is retried after `retryInMs`. */
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  random?: () => number;
}

export const defaultKeyBackoff: BackoffOptions = { initialMs: 1_000, maxMs: 5 * 60_000 };

/** The key of an object: `namespace/name`, or `name` for a cluster-scoped one. */
export function queueKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

/** The inverse of queueKey. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class WorkQueue {
  private readonly o: WorkQueueOptions;
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failureCounts = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];

  constructor(o: WorkQueueOptions) {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new RangeError('concurrency must be an integer of at least 1');
    this.o = o;
    this.signal = o.signal ? AbortSignal.any([o.signal, this.controller.signal]) : this.controller.signal;
    this.signal.addEventListener('abort', () => this.shutdown(), { once: true });
  }

  get stopped(): boolean {
    return this.signal.aborted;
  }

  /** Keys waiting to run (not those running or delayed). */
  get length(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting for a delayed add. */
  get delayed(): number {
    return this.timers.size;
  }

  /** Failures of the key since its last success. */
  failures(key: string): number {
    return this.failureCounts.get(key) ?? 0;
  }

  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.processing.has(key)) this.queue.push(key);
    this.pump();
  }

  /** Adds the key after `ms`; of several delayed adds of one key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, timer });
  }

  /** Adds the key after its next backoff delay (grows per failure until forget()); returns the delay. */
  addRateLimited(key: string): number {
    const n = this.failures(key) + 1;
    this.failureCounts.set(key, n);
    const delay = backoffDelay(n, this.o.backoff ?? defaultKeyBackoff, this.o.random);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the key's backoff. */
  forget(key: string): void {
    this.failureCounts.delete(key);
  }

  /** Resolves when nothing is queued or running (delayed adds may still be pending). */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work and waits for the running handlers (which see the signal) to return. */
  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled([...this.running]);
  }

  private shutdown(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.notifyIdle();
  }

  private pump(): void {
    while (!this.stopped && this.processing.size < this.o.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      const p = this.run(key);
      this.running.add(p);
      void p.finally(() => this.running.delete(p));
    }
  }

  private async run(key: string): Promise<void> {
    try {
      const result = await this.o.handler(key, this.signal);
      if (this.stopped) return;
      if (result && 'requeue' in result) {
        this.addRateLimited(key);
      } else {
        this.forget(key);
        if (result && 'requeueAfterMs' in result) this.addAfter(key, result.requeueAfterMs);
      }
    } catch (err) {
      if (this.stopped) return;
      const delay = this.addRateLimited(key);
      this.o.onError?.(key, err, delay);
    } finally {
      this.processing.delete(key);
      if (!this.stopped && this.dirty.has(key)) this.queue.push(key);
      this.pump();
      this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    if (this.queue.length === 0 && this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
