import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../../common/src/errors.ts';
import { namespaceFilter, validateNamespacePattern } from './namespace-filter.ts';

describe('namespaceFilter', () => {
  it('watches namespaces matching an include glob and not an exclusion, plus the admin namespace', () => {
    const f = namespaceFilter({ patterns: ['team-*', 'shared', '!team-secret*'], adminNamespace: 'cairn-system' });
    expect(['team-a', 'team-b2', 'shared', 'cairn-system'].filter(f)).toEqual(['team-a', 'team-b2', 'shared', 'cairn-system']);
    expect(['team-secret', 'team-secret-2', 'kube-system', 'default', 'shared-2', 'xteam-a'].filter(f)).toEqual([]);
  });

  it('exclusions win whatever their position', () => {
    const a = namespaceFilter({ patterns: ['!kube-*', '*'], adminNamespace: 'adm' });
    const b = namespaceFilter({ patterns: ['*', '!kube-*'], adminNamespace: 'adm' });
    for (const f of [a, b]) {
      expect(f('kube-system')).toBe(false);
      expect(f('team-a')).toBe(true);
    }
  });

  it('with exclusions only, every other namespace is watched; with no pattern only the admin namespace', () => {
    const onlyExcl = namespaceFilter({ patterns: ['!kube-*'], adminNamespace: 'adm' });
    expect(onlyExcl('team-a')).toBe(true);
    expect(onlyExcl('kube-public')).toBe(false);
    const none = namespaceFilter({ patterns: [], adminNamespace: 'adm' });
    expect(none('team-a')).toBe(false);
    expect(none('adm')).toBe(true);
  });

  it('the admin namespace is watched even when a pattern excludes it', () => {
    expect(namespaceFilter({ patterns: ['team-*', '!cairn-*'], adminNamespace: 'cairn-system' })('cairn-system')).toBe(true);
  });

  it('? matches one character, [...] a class and {a,b} alternatives', () => {
    const f = namespaceFilter({ patterns: ['team-?', 'env-[0-9]', '{prod,stage}-*'], adminNamespace: 'adm' });
    expect(['team-a', 'env-3', 'prod-db', 'stage-x'].every(f)).toBe(true);
    expect(['team-ab', 'env-x', 'dev-db'].some(f)).toBe(false);
  });

  it('refuses patterns that could never match a namespace, naming the pattern', () => {
    for (const p of ['Team-*', 'team_a', 'a/b', '!', '', 'team.*']) {
      let err: unknown;
      try {
        validateNamespacePattern(p);
      } catch (e) {
        err = e;
      }
      expect(isCairnError(err, 'CAIRN_E_INVALID_ARGUMENT'), p).toBe(true);
      expect((err as Error).message).toContain(JSON.stringify(p));
    }
  });
});
