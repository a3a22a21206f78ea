import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { queueKey, splitKey, WorkQueue, type KeyHandler, type ReconcileResult } from './work-queue.ts';

/** A promise with its resolve, to hold a handler until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Records runs and how many handlers run at once, per key and overall. */
function recorder(body: (key: string, run: number, signal: AbortSignal) => Promise<ReconcileResult> = async () => {}) {
  const runs: { key: string; at: number }[] = [];
  const active = new Map<string, number>();
  let now = 0;
  let maxAll = 0;
  let maxPerKey = 0;
  const handler: KeyHandler = async (key, signal) => {
    const n = runs.filter((r) => r.key === key).length + 1;
    runs.push({ key, at: Date.now() });
    active.set(key, (active.get(key) ?? 0) + 1);
    now++;
    maxAll = Math.max(maxAll, now);
    maxPerKey = Math.max(maxPerKey, active.get(key)!);
    try {
      return await body(key, n, signal);
    } finally {
      active.set(key, active.get(key)! - 1);
      now--;
    }
  };
  return { handler, runs, count: (k: string) => runs.filter((r) => r.key === k).length, max: () => ({ all: maxAll, perKey: maxPerKey }) };
}

describe('WorkQueue', () => {
  it('runs one key serially: adds while it runs make it run once more, never concurrently', async () => {
    const g = gate();
    const r = recorder(async (_k, run) => {
      if (run === 1) await g.promise;
    });
    const q = new WorkQueue({ handler: r.handler, concurrency: 4 });
    q.add('ns/a');
    await sleep(10);
    for (let i = 0; i < 5; i++) q.add('ns/a');
    await sleep(10);
    expect(r.count('ns/a')).toBe(1);
    g.open();
    await q.whenIdle();
    expect(r.count('ns/a')).toBe(2);
    expect(r.max().perKey).toBe(1);
  });

  it('runs different keys in parallel, up to the concurrency bound', async () => {
    const g = gate();
    const r = recorder(() => g.promise);
    const q = new WorkQueue({ handler: r.handler, concurrency: 3 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await sleep(10);
    expect(q.inFlight).toBe(3);
    expect(q.length).toBe(2);
    g.open();
    await q.whenIdle();
    expect(r.runs.map((x) => x.key).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(r.max().all).toBe(3);
  });

  it('a key queued several times before it starts runs once', async () => {
    const g = gate();
    const r = recorder(async (k) => {
      if (k === 'busy') await g.promise;
    });
    const q = new WorkQueue({ handler: r.handler, concurrency: 1 });
    q.add('busy');
    q.add('x');
    q.add('x');
    q.add('x');
    expect(q.length).toBe(1);
    g.open();
    await q.whenIdle();
    expect(r.count('x')).toBe(1);
  });

  it('retries a failing key with growing delays and resets the backoff after a success', async () => {
    const r = recorder((_k, run) => (run <= 3 || run === 5 ? Promise.reject(new Error(`fail ${run}`)) : Promise.resolve()));
    const errors: number[] = [];
    const q = new WorkQueue({ handler: r.handler, concurrency: 1, backoff: { initialMs: 40, maxMs: 1_000 }, random: () => 1, onError: (_k, _e, ms) => errors.push(ms) });
    q.add('k');
    await waitUntil(() => r.count('k') === 4);
    expect(errors).toEqual([40, 80, 160]);
    const gaps = r.runs.slice(1).map((x, i) => x.at - r.runs[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(38);
    expect(gaps[1]).toBeGreaterThanOrEqual(78);
    expect(gaps[2]).toBeGreaterThanOrEqual(158);
    expect(q.failures('k')).toBe(0);
    q.add('k'); // run 5 fails: its delay starts from the beginning again
    await waitUntil(() => r.count('k') === 6);
    expect(errors).toEqual([40, 80, 160, 40]);
  });

  it('requeueAfterMs runs the key again after the delay, and requeue: true retries with backoff', async () => {
    const r = recorder((k, run) => Promise.resolve(k === 'later' && run === 1 ? { requeueAfterMs: 60 } : k === 'retry' && run === 1 ? { requeue: true as const } : undefined));
    const q = new WorkQueue({ handler: r.handler, concurrency: 2, backoff: { initialMs: 30, maxMs: 30 }, random: () => 1 });
    q.add('later');
    q.add('retry');
    await waitUntil(() => r.count('later') === 2 && r.count('retry') === 2);
    const at = (k: string) => r.runs.filter((x) => x.key === k).map((x) => x.at);
    expect(at('later')[1]! - at('later')[0]!).toBeGreaterThanOrEqual(58);
    expect(at('retry')[1]! - at('retry')[0]!).toBeGreaterThanOrEqual(28);
    expect(q.failures('later')).toBe(0);
  });

  it('of two delayed adds of one key the earlier wins, and the key runs once', async () => {
    const r = recorder();
    const q = new WorkQueue({ handler: r.handler, concurrency: 1 });
    q.addAfter('k', 500);
    q.addAfter('k', 30);
    q.addAfter('k', 200);
    expect(q.delayed).toBe(1);
    await waitUntil(() => r.count('k') === 1);
    await sleep(600);
    expect(r.count('k')).toBe(1);
  });

  it('stops on its signal: the running handler sees it, nothing queued or delayed runs afterwards', async () => {
    const ac = new AbortController();
    let sawAbort = false;
    const r = recorder(async (k, _run, signal) => {
      if (k === 'long') {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        sawAbort = signal.aborted;
      }
    });
    const q = new WorkQueue({ handler: r.handler, concurrency: 1, signal: ac.signal });
    q.add('long');
    q.add('queued');
    q.addAfter('delayed', 20);
    await sleep(5);
    ac.abort();
    await q.stop();
    await sleep(50);
    expect(sawAbort).toBe(true);
    expect(r.runs.map((x) => x.key)).toEqual(['long']);
    q.add('after-stop');
    expect(q.length).toBe(0);
  });

  it('queueKey is namespace/name, or the name of a cluster-scoped object, and splitKey inverts it', () => {
    expect(queueKey({ metadata: { namespace: 'team-a', name: 'nightly' } })).toBe('team-a/nightly');
    expect(queueKey({ metadata: { name: 'node-1' } })).toBe('node-1');
    expect(splitKey('team-a/nightly')).toEqual({ namespace: 'team-a', name: 'nightly' });
    expect(splitKey('node-1')).toEqual({ namespace: undefined, name: 'node-1' });
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
