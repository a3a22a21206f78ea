import { describe, expect, it } from 'vitest';
import { FairQueue, type QueueEntry } from './fair-queue.ts';

const entry = (tenant: string, n: number): QueueEntry => ({ id: `Backup/${tenant}/${tenant}${n}`, tenant, createdAt: `2026-01-01T00:00:${String(n).padStart(2, '0')}Z` });

function queue(capacity: number, perTenant = 10) {
  const admitted: string[] = [];
  const q = new FairQueue({ perTenant, capacity: () => capacity, onAdmit: (id) => admitted.push(id) });
  return { q, admitted };
}

describe('FairQueue', () => {
  it('one slot: tenant a queues five, then b one; they start a1, b1, a2, a3, a4, a5', () => {
    const { q, admitted } = queue(1);
    const order: string[] = [];
    for (let i = 1; i <= 5; i++) if (q.offer(entry('a', i)).admitted) order.push(`a${i}`);
    expect(q.offer(entry('b', 1))).toEqual({ admitted: false, position: 1 });
    expect(q.positions().get('Backup/a/a2')).toBe(2);
    const run = (id: string) => { order.push(id.split('/')[2]!); };
    for (let i = 0; i < 5; i++) {
      const current = [...admitted];
      q.release(i === 0 ? 'Backup/a/a1' : admitted.at(-1)!);
      for (const id of admitted.slice(current.length)) run(id);
    }
    expect(order).toEqual(['a1', 'b1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('respects the per-tenant limit even with free capacity, and round-robins the rest', () => {
    const { q } = queue(4, 1);
    expect(q.offer(entry('a', 1)).admitted).toBe(true);
    expect(q.offer(entry('a', 2)).admitted).toBe(false);
    expect(q.offer(entry('b', 1)).admitted).toBe(true);
    expect(q.offer(entry('c', 1)).admitted).toBe(true);
    expect(q.size).toEqual({ waiting: 1, running: 3 });
  });

  it('an offer is idempotent; withdraw and claim keep the counts right', () => {
    const { q, admitted } = queue(1);
    q.offer(entry('a', 1));
    q.offer(entry('a', 2));
    q.offer(entry('a', 2));
    expect(q.size).toEqual({ waiting: 1, running: 1 });
    q.withdraw('Backup/a/a2');
    q.claim(entry('b', 1)); // resumed after a restart: counted although over capacity
    expect(q.size).toEqual({ waiting: 0, running: 2 });
    q.offer(entry('c', 1));
    q.release('Backup/a/a1');
    expect(admitted).toEqual([]); // still at capacity with b1
    q.release('Backup/b/b1');
    expect(admitted).toEqual(['Backup/c/c1']);
  });

  it('within a tenant the oldest goes first, whatever the order of offers (a restart re-offers in any order)', () => {
    const { q, admitted } = queue(1);
    q.offer(entry('z', 9));
    q.offer(entry('a', 3));
    q.offer(entry('a', 1));
    expect([...q.positions().keys()]).toEqual(['Backup/a/a1', 'Backup/a/a3']);
    q.release('Backup/z/z9');
    expect(admitted).toEqual(['Backup/a/a1']);
  });
});
