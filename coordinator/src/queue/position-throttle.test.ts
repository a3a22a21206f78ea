import { describe, expect, it } from 'vitest';
import { PositionThrottle } from './position-throttle.ts';

describe('PositionThrottle', () => {
  it('lets the first write through, then one per period per object', () => {
    let t = 1_000;
    const p = new PositionThrottle(5_000, () => t);
    expect(p.dueIn('a')).toBe(0);
    p.wrote('a');
    t += 2_000;
    expect(p.dueIn('a')).toBe(3_000);
    expect(p.dueIn('b')).toBe(0);
    t += 3_000;
    expect(p.dueIn('a')).toBe(0);
    p.forget('a');
    expect(p.dueIn('a')).toBe(0);
  });
});
