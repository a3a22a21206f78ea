import { describe, expect, it } from 'vitest';
import { goDuration, nameList, objectName, selector, target, timeoutMs } from './values.ts';

describe('objectName', () => {
  it('accepts DNS-1123 subdomains and refuses the rest, saying what is allowed', () => {
    expect(objectName('nightly-1.a')).toBe('nightly-1.a');
    for (const bad of ['Nightly', 'a_b', '-a', 'a-', '', 'a'.repeat(254)]) expect(() => objectName(bad)).toThrow(/is not a valid name: lowercase letters/);
  });
});

describe('nameList', () => {
  it('splits at commas, trims, and accumulates repeated flags', () => {
    expect(nameList(' a , b', undefined)).toEqual(['a', 'b']);
    expect(nameList('c', ['a', 'b'])).toEqual(['a', 'b', 'c']);
    expect(() => nameList(',', undefined)).toThrow(/one or more names/);
    expect(() => nameList('a,B', undefined)).toThrow(/"B" is not a valid name/);
  });
});

describe('target', () => {
  it('is VOLUME=PVC, each volume and each PVC once', () => {
    expect(target('data=copy', undefined)).toEqual([{ volume: 'data', pvc: 'copy' }]);
    for (const bad of ['data', '=copy', 'data=', 'Data=copy']) expect(() => target(bad, undefined)).toThrow();
  });
});

describe('durations', () => {
  it('takes Go durations as the API does, and --timeout in milliseconds', () => {
    expect(goDuration('1h30m')).toBe('1h30m');
    expect(timeoutMs('90s')).toBe(90_000);
    expect(timeoutMs('1.5h')).toBe(5_400_000);
    for (const bad of ['3d', '0s', '-1h', '10', 'soon']) expect(() => goDuration(bad)).toThrow(/not a positive duration/);
  });
});

describe('selector', () => {
  it('reads equality, inequality, set and existence requirements as kubectl -l does', () => {
    expect(selector('app=db')).toEqual({ matchLabels: { app: 'db' } });
    expect(selector('app==db,tier!=cache')).toEqual({ matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['cache'] }] });
    expect(selector('env in (prod, staging),zone notin (a),backup,!legacy')).toEqual({
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
        { key: 'backup', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    expect(selector('example.com/tier=gold')).toEqual({ matchLabels: { 'example.com/tier': 'gold' } });
  });

  it('refuses what is not a selector, naming the part', () => {
    expect(() => selector('app=db,')).toThrow(/empty requirement/);
    expect(() => selector('app=d b')).toThrow(/is not k=v/);
    expect(() => selector('a=1,a=2')).toThrow(/names a twice/);
    expect(() => selector('-bad=1')).toThrow(/"-bad" .* is not a label key/);
    expect(() => selector('app=-x')).toThrow(/"-x" .* is not a label value/);
    expect(() => selector('env in ()')).toThrow();
  });
});
