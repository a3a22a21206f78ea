import { describe, expect, it } from 'vitest';
import { comparePaths, isWithin, parentPath, pathDepth, splitPath } from './path-order.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('comparePaths', () => {
  it('sorts a child with its parent, before a sibling that extends the parent name', () => {
    const sorted = ['a.b', 'a/b', 'a', 'a/b/c', 'a-', 'b'].map(b).sort(comparePaths).map((x) => x.toString('latin1'));
    expect(sorted).toEqual(['a', 'a/b', 'a/b/c', 'a-', 'a.b', 'b']);
  });

  it('compares raw bytes, not UTF-16 or locale order', () => {
    expect(comparePaths(Buffer.from([0xff]), Buffer.from([0x41]))).toBeGreaterThan(0);
    expect(comparePaths(Buffer.from('é'), Buffer.from('z'))).toBeGreaterThan(0);
  });
});

describe('path helpers', () => {
  it('splits, measures depth and finds parents', () => {
    expect(splitPath(b('x/y/z')).map(String)).toEqual(['x', 'y', 'z']);
    expect(pathDepth(b(''))).toBe(0);
    expect(pathDepth(b('x/y'))).toBe(2);
    expect(parentPath(b('x/y')).toString()).toBe('x');
    expect(parentPath(b('x')).toString()).toBe('');
  });

  it('isWithin matches whole components only', () => {
    expect(isWithin(b('a/b'), b('a'))).toBe(true);
    expect(isWithin(b('ab'), b('a'))).toBe(false);
    expect(isWithin(b('a'), b('a'))).toBe(true);
  });
});
