import { describe, expect, it } from 'vitest';
import { RunRegistry } from './run-registry.ts';

describe('RunRegistry', () => {
  it('runs one run per key, aborts it by key or with the parent signal, and forgets it when done', async () => {
    const runs = new RunRegistry();
    const parent = new AbortController();
    const seen: string[] = [];
    const run = (signal: AbortSignal) => new Promise<void>((resolve) => {
      const done = () => { seen.push(String((signal.reason as Error).message)); resolve(); };
      if (signal.aborted) done();
      else signal.addEventListener('abort', done);
    });
    expect(runs.start('ns/a', parent.signal, run, () => {})).toBe(true);
    expect(runs.start('ns/a', parent.signal, run, () => {})).toBe(false);
    runs.start('ns/b', parent.signal, run, () => {});
    expect(runs.has('ns/a')).toBe(true);
    runs.abort('ns/a', 'deleted');
    parent.abort(new Error('stopping'));
    await runs.drain();
    expect(seen.sort()).toEqual(['deleted', 'stopping']);
    expect(runs.size).toBe(0);
  });

  it('hands a crashed run to onError instead of an unhandled rejection', async () => {
    const runs = new RunRegistry();
    const errors: unknown[] = [];
    runs.start('k', new AbortController().signal, () => Promise.reject(new Error('boom')), (e) => errors.push(e));
    await runs.drain();
    expect(errors).toHaveLength(1);
  });
});
