import { describe, expect, it } from 'vitest';
import { RefetchBudget } from './refetch-budget.ts';

const frame = (pack: string, offset: number) => ({ pack, seq: 0, offset, size: 100 });

describe('RefetchBudget', () => {
  it('a frame past the furthest one of its pack is a first fetch; one at or before it is a fetch again', () => {
    const b = new RefetchBudget();
    expect(b.first(frame('p', 0))).toBe(true);
    expect(b.first(frame('p', 500))).toBe(true);
    expect(b.first(frame('q', 0))).toBe(true); // each pack on its own
    expect(b.first(frame('p', 500))).toBe(false); // the same frame
    expect(b.first(frame('p', 0))).toBe(false); // an earlier one
    expect(b.first(frame('p', 900))).toBe(true);
  });

  it('allows the bytes fetched again up to those fetched first plus the slack, then names the entry', () => {
    const b = new RefetchBudget(1000);
    b.count(true, 5000, undefined);
    b.count(false, 6000, Buffer.from('a'));
    expect(b.totals).toEqual({ first: 5000, again: 6000 });
    expect(() => b.count(false, 1, Buffer.from('dir/z'))).toThrow(expect.objectContaining({
      code: 'CAIRN_E_LIMIT_EXCEEDED', message: expect.stringMatching(/^entry "dir\/z": the index makes the restore fetch the same frames again and again/) as string,
    }));
  });

  it('more bytes fetched first make room for more fetched again', () => {
    const b = new RefetchBudget(0);
    b.count(true, 10, undefined);
    b.count(false, 10, undefined);
    expect(() => b.count(false, 1, undefined)).toThrow(/again and again/);
    const c = new RefetchBudget(0);
    c.count(true, 10, undefined);
    c.count(false, 10, undefined);
    c.count(true, 1, undefined);
    expect(() => c.count(false, 1, undefined)).not.toThrow();
  });
});
