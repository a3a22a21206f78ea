import { describe, expect, it } from 'vitest';
import { joinKey, joinListPrefix, normalizePrefix, stripPrefix } from './keys.ts';

const refused = (f: () => unknown): void => {
  expect(f).toThrow(expect.objectContaining({ code: 'CAIRN_E_INVALID_ARGUMENT' }) as Error);
};

describe('store prefix', () => {
  it('drops slashes at its ends, so /a/b/, a/b/ and a/b are one prefix', () => {
    expect(normalizePrefix('/a/b/')).toBe('a/b');
    expect(normalizePrefix('a/b')).toBe('a/b');
    expect(normalizePrefix('')).toBe('');
    expect(normalizePrefix('/')).toBe('');
  });
  it('refuses .. , . and empty segments inside it', () => {
    refused(() => normalizePrefix('a/../b'));
    refused(() => normalizePrefix('a/./b'));
    refused(() => normalizePrefix('a//b'));
  });
});

describe('joining keys under the prefix', () => {
  it('joins with exactly one slash, and not at all under the bucket root', () => {
    expect(joinKey('tenant/x', 'cairn/v1/packs/p.pack')).toBe('tenant/x/cairn/v1/packs/p.pack');
    expect(joinKey('', 'cairn/v1/manifest.json')).toBe('cairn/v1/manifest.json');
  });
  it('refuses a key that climbs out with .. segments', () => {
    refused(() => joinKey('t', '../other-tenant/x'));
    refused(() => joinKey('t', 'cairn/../../x'));
    refused(() => joinKey('t', '..'));
  });
  it('refuses an absolute key', () => refused(() => joinKey('t', '/etc/passwd')));
  it('refuses empty, . and empty-segment keys that a server might normalise', () => {
    refused(() => joinKey('t', ''));
    refused(() => joinKey('t', 'a/./b'));
    refused(() => joinKey('t', 'a//b'));
    refused(() => joinKey('t', 'a/'));
  });
  it('refuses control characters', () => refused(() => joinKey('t', 'a\u0000b')));
  it('allows dots inside names (a..b is a name, not a segment)', () => {
    expect(joinKey('t', 'a..b/.hidden/x.y')).toBe('t/a..b/.hidden/x.y');
  });
  it('refuses a key over 1024 bytes with the prefix', () => {
    refused(() => joinKey('p'.repeat(100), 'k'.repeat(930)));
    expect(joinKey('p'.repeat(100), 'k'.repeat(923))).toHaveLength(1024);
  });
});

describe('listing prefixes', () => {
  it("may be '' or end with '/' or mid-name", () => {
    expect(joinListPrefix('t', '')).toBe('t/');
    expect(joinListPrefix('', '')).toBe('');
    expect(joinListPrefix('t', 'packs/')).toBe('t/packs/');
    expect(joinListPrefix('t', 'packs/ab')).toBe('t/packs/ab');
  });
  it('refuses .. and absolute prefixes', () => {
    refused(() => joinListPrefix('t', '../'));
    refused(() => joinListPrefix('t', 'a/..'));
    refused(() => joinListPrefix('t', '/a'));
  });
  it('strips the prefix from listed keys and disbelieves keys outside it', () => {
    expect(stripPrefix('t', 't/a/b')).toBe('a/b');
    expect(stripPrefix('t', 'tx/a')).toBeUndefined();
    expect(stripPrefix('t', 'other/a')).toBeUndefined();
    expect(stripPrefix('', 'a')).toBe('a');
  });
});
