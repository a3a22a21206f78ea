import type { V1PersistentVolume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { backingIdentity, identitiesConflict, isPlainExportPath, normaliseExportPath, normaliseNfsServer, pathsNest, sharedWithOtherNamespaces } from './backing-identity.ts';

function pv(name: string, spec: NonNullable<V1PersistentVolume['spec']>, labels?: Record<string, string>): V1PersistentVolume {
  return { metadata: { name, ...(labels ? { labels } : {}) }, spec };
}
const nfs = (server: string, path: string) => backingIdentity(pv('x', { nfs: { server, path } }));

describe('NFS export paths', () => {
  it('normalises doubled and trailing slashes and "." components', () => {
    expect(normaliseExportPath('/exports//a/')).toBe('/exports/a');
    expect(normaliseExportPath('/exports/./a')).toBe('/exports/a');
    expect(normaliseExportPath('//')).toBe('/');
  });

  it('resolves ".." lexically and never above the root', () => {
    expect(normaliseExportPath('/exports/b/../a')).toBe('/exports/a');
    expect(normaliseExportPath('/../../etc')).toBe('/etc');
  });

  it('reads a relative path from the root (the widest reading)', () => {
    expect(normaliseExportPath('exports/a')).toBe('/exports/a');
  });

  it('accepts for the agent only absolute paths without "." or ".."', () => {
    expect(isPlainExportPath('/exports//a/')).toBe(true);
    expect(isPlainExportPath('/exports/../a')).toBe(false);
    expect(isPlainExportPath('/exports/./a')).toBe(false);
    expect(isPlainExportPath('exports/a')).toBe(false);
    expect(isPlainExportPath('/a\0b')).toBe(false);
  });

  it('nests by whole components, either way', () => {
    expect(pathsNest('/exports', '/exports/a')).toBe(true);
    expect(pathsNest('/exports/a/b', '/exports/a')).toBe(true);
    expect(pathsNest('/exports/a', '/exports/a')).toBe(true);
    expect(pathsNest('/', '/anything')).toBe(true);
    expect(pathsNest('/exports/a', '/exports/ab')).toBe(false);
    expect(pathsNest('/exports/a', '/exports/b')).toBe(false);
  });
});

describe('NFS servers', () => {
  it('compares host names without case or trailing dot', () => {
    expect(normaliseNfsServer('NFS.Example.Test.')).toBe('nfs.example.test');
  });

  it('reads IPv4 addresses as mount.nfs does (inet_aton forms)', () => {
    expect(normaliseNfsServer('10.0.0.5')).toBe('10.0.0.5');
    expect(normaliseNfsServer('10.5')).toBe('10.0.0.5');
    expect(normaliseNfsServer('0xa.0.0.5')).toBe('10.0.0.5');
    expect(normaliseNfsServer('012.0.0.5')).toBe('10.0.0.5');
  });

  it('writes IPv6 in one form and IPv4-mapped IPv6 as IPv4', () => {
    expect(normaliseNfsServer('[FD00:0:0::1]')).toBe('fd00::1');
    expect(normaliseNfsServer('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(normaliseNfsServer('::ffff:a00:5')).toBe('10.0.0.5');
  });

  it('refuses what is no host name or address', () => {
    expect(normaliseNfsServer('evil/../x')).toBeUndefined();
    expect(normaliseNfsServer('user@host')).toBeUndefined();
    expect(normaliseNfsServer('')).toBeUndefined();
  });
});

describe('backing identities', () => {
  it('NFS exports written differently or nested conflict on the same server', () => {
    const a = nfs('nfs.example.test', '/exports/a');
    expect(identitiesConflict(a, nfs('NFS.example.test', '/exports//a/'))).toBe(true);
    expect(identitiesConflict(a, nfs('nfs.example.test', '/exports'))).toBe(true);
    expect(identitiesConflict(a, nfs('nfs.example.test', '/exports/a/sub'))).toBe(true);
    expect(identitiesConflict(a, nfs('nfs.example.test', '/exports/b/../a'))).toBe(true);
  });

  it('sibling exports and other servers do not conflict', () => {
    const a = nfs('nfs.example.test', '/exports/a');
    expect(identitiesConflict(a, nfs('nfs.example.test', '/exports/ab'))).toBe(false);
    expect(identitiesConflict(a, nfs('other.example.test', '/exports/a'))).toBe(false);
  });

  it('CSI volumes conflict on the same driver and volumeHandle only', () => {
    const a = backingIdentity(pv('a', { csi: { driver: 'x.csi.io', volumeHandle: 'h1' } }));
    expect(identitiesConflict(a, backingIdentity(pv('b', { csi: { driver: 'X.csi.io', volumeHandle: 'h1' } })))).toBe(true);
    expect(identitiesConflict(a, backingIdentity(pv('c', { csi: { driver: 'x.csi.io', volumeHandle: 'h2' } })))).toBe(false);
    expect(identitiesConflict(a, backingIdentity(pv('d', { csi: { driver: 'y.csi.io', volumeHandle: 'h1' } })))).toBe(false);
  });

  it('hostPath and local paths conflict by containment', () => {
    const h = backingIdentity(pv('h', { hostPath: { path: '/mnt/disks' } }));
    const l = backingIdentity(pv('l', { local: { path: '/mnt/disks/ssd1/' } }));
    expect(identitiesConflict(h, l)).toBe(true);
  });

  it('names the source of an unsupported PV', () => {
    expect(backingIdentity(pv('i', { accessModes: ['ReadWriteOnce'], iscsi: { targetPortal: 't', iqn: 'q', lun: 0 } }))).toEqual({ kind: 'other', source: 'iscsi' });
  });

  it('finds PVs of other namespaces (claimRef or tenant label) behind the same storage, not unclaimed ones', () => {
    const mine = pv('mine', { csi: { driver: 'd', volumeHandle: 'h' }, claimRef: { namespace: 'team-a', name: 'data' } });
    const claimedByB = pv('b', { csi: { driver: 'd', volumeHandle: 'h' }, claimRef: { namespace: 'team-b', name: 'x' } });
    const labelledB = pv('lb', { csi: { driver: 'd', volumeHandle: 'h' } }, { 'cairn.dev/tenant': 'team-b' });
    const unclaimed = pv('free', { csi: { driver: 'd', volumeHandle: 'h' } });
    const sameNs = pv('a2', { csi: { driver: 'd', volumeHandle: 'h' }, claimRef: { namespace: 'team-a', name: 'other' } });
    const found = sharedWithOtherNamespaces(mine, [mine, claimedByB, labelledB, unclaimed, sameNs], 'team-a', 'cairn.dev/tenant');
    expect(found.map((p) => p.metadata!.name)).toEqual(['b', 'lb']);
  });
});
