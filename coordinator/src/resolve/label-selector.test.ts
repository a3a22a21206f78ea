import { describe, expect, it } from 'vitest';
import { matchesSelector } from './label-selector.ts';

describe('matchesSelector', () => {
  const labels = { app: 'db', tier: 'data' };

  it('matchLabels needs every pair', () => {
    expect(matchesSelector({ matchLabels: { app: 'db' } }, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { app: 'db', tier: 'web' } }, labels)).toBe(false);
  });

  it('matchExpressions In, NotIn, Exists, DoesNotExist', () => {
    expect(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'cache'] }] }, labels)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] }, labels)).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }, labels)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels)).toBe(false);
  });

  it('an empty selector matches everything, also a pod without labels', () => {
    expect(matchesSelector({}, undefined)).toBe(true);
    expect(matchesSelector({ matchLabels: { app: 'db' } }, undefined)).toBe(false);
  });
});
