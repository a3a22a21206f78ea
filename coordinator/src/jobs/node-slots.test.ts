import { describe, expect, it } from 'vitest';
import { NodeSlots } from './node-slots.ts';

describe('NodeSlots', () => {
  it('lets perNode jobs run on a node and queues the next until one ends', async () => {
    const slots = new NodeSlots(2);
    const a = await slots.acquire('n1');
    await slots.acquire('n1');
    await slots.acquire('n2'); // another node is not limited by n1
    let third = false;
    const p = slots.acquire('n1').then((r) => { third = true; return r; });
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    a();
    a(); // a second release is ignored
    await p;
    expect(third).toBe(true);
    expect(slots.inUse('n1')).toBe(2);
  });

  it('drops an aborted waiter from the queue', async () => {
    const slots = new NodeSlots(1);
    const first = await slots.acquire('n1');
    const ac = new AbortController();
    const waiting = slots.acquire('n1', ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CAIRN_E_ABORTED' });
    first();
    expect(slots.inUse('n1')).toBe(0);
  });
});
