import { describe, expect, it } from 'vitest';
import { findCondition, isConditionTrue, metaTime, removeCondition, setCondition } from './conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T01:00:00.456Z');

describe('setCondition', () => {
  it('adds a condition with lastTransitionTime at second precision', () => {
    const c = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Validated', message: 'ok', observedGeneration: 2 }, t0);
    expect(c).toEqual([{ type: 'Ready', status: 'True', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Validated', message: 'ok' }]);
  });

  it('keeps lastTransitionTime when only reason, message or generation change, and moves it when the status flips', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting' }, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'StillPending', message: 'still waiting', observedGeneration: 3 }, t1);
    expect(b[0]).toMatchObject({ lastTransitionTime: metaTime(t0), reason: 'StillPending', message: 'still waiting', observedGeneration: 3 });
    const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Done', message: 'done' }, t1);
    expect(c[0]).toMatchObject({ status: 'True', lastTransitionTime: metaTime(t1), observedGeneration: 3 });
  });

  it('setting the same condition again yields an equal list (so the status write is a no-op), and leaves the input alone', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Done', message: 'done' }, t0);
    const frozen = structuredClone(a);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Done', message: 'done' }, t1);
    expect(b).toEqual(a);
    expect(a).toEqual(frozen);
  });

  it('keeps other conditions and their order', () => {
    let c = setCondition(undefined, { type: 'A', status: 'True', reason: 'R', message: '' }, t0);
    c = setCondition(c, { type: 'B', status: 'False', reason: 'R', message: '' }, t0);
    c = setCondition(c, { type: 'A', status: 'False', reason: 'R2', message: '' }, t1);
    expect(c.map((x) => [x.type, x.status])).toEqual([['A', 'False'], ['B', 'False']]);
    expect(isConditionTrue(c, 'A')).toBe(false);
    expect(findCondition(c, 'B')?.reason).toBe('R');
    expect(removeCondition(c, 'A').map((x) => x.type)).toEqual(['B']);
  });

  it('refuses a reason that is not CamelCase and truncates an over-long message', () => {
    expect(() => setCondition(undefined, { type: 'Ready', status: 'True', reason: 'not valid', message: '' })).toThrow(/CamelCase/);
    expect(() => setCondition(undefined, { type: 'no spaces', status: 'True', reason: 'Ok', message: '' })).toThrow(/type/);
    const long = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Ok', message: 'x'.repeat(40_000) });
    expect(long[0]!.message.length).toBe(32_768);
  });
});
