import { describe, expect, it } from 'vitest';
import type { Backup, BackupStorageLocation } from '../../../common/src/crds.ts';
import { selectNamespaces, validateBackup } from './validate-backup.ts';

const backup = (ns: string, spec: Partial<Backup['spec']> = {}): Backup => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', metadata: { name: 'b', namespace: ns }, spec: { storageLocation: 'main', ...spec },
});
const location = (phase: 'Available' | 'Unavailable' | undefined, accessMode: 'ReadWrite' | 'ReadOnly' = 'ReadWrite'): BackupStorageLocation => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'BackupStorageLocation', metadata: { name: 'main', namespace: 'team-a' },
  spec: { objectStorage: { bucket: 'x' }, credential: { name: 's', key: 'k' }, accessMode },
  ...(phase ? { status: { phase, reason: phase === 'Unavailable' ? 'AccessDenied' : 'Validated', message: 'm' } } : {}),
});
const check = (b: Backup, l: BackupStorageLocation | undefined) => validateBackup({ backup: b, location: l, adminNamespace: 'cairn-system', defaultTtlMs: 1000 });

describe('validateBackup', () => {
  it('accepts an Available ReadWrite location of its namespace, with the default ttl or its own', () => {
    expect(check(backup('team-a'), location('Available'))).toMatchObject({ ok: true, ttlMs: 1000 });
    expect(check(backup('team-a', { ttl: '1h30m' }), location('Available'))).toMatchObject({ ok: true, ttlMs: 5_400_000 });
  });

  it('a location that does not exist here fails naming spec.storageLocation', () => {
    const r = check(backup('team-a'), undefined);
    expect(r.ok).toBe(false);
    expect((r as { errors: string[] }).errors[0]).toMatch(/^spec\.storageLocation: .*does not exist in namespace team-a/);
  });

  it('waits for a location not validated yet; fails on an Unavailable or ReadOnly one', () => {
    expect(check(backup('team-a'), location(undefined)).ok).toBe('wait');
    expect(check(backup('team-a'), location('Unavailable'))).toMatchObject({ ok: false, errors: [expect.stringContaining('Unavailable (AccessDenied)')] });
    expect(check(backup('team-a'), location('Available', 'ReadOnly'))).toMatchObject({ ok: false, errors: [expect.stringContaining('ReadOnly')] });
  });

  it('includedNamespaces naming another namespace is refused outside the admin namespace (the coordinator enforces it besides admission); its own namespace is allowed', () => {
    expect(check(backup('team-a', { includedNamespaces: ['team-b'] }), location('Available'))).toMatchObject({ ok: false, errors: [expect.stringMatching(/^spec\.includedNamespaces: only a Backup in the admin namespace cairn-system/)] });
    expect(check(backup('team-a', { includedNamespaces: ['team-*'] }), location('Available')).ok).toBe(false);
    expect(check(backup('team-a', { includedNamespaces: ['team-a'] }), location('Available')).ok).toBe(true);
    expect(check(backup('cairn-system', { includedNamespaces: ['team-*'] }), location('Available')).ok).toBe(true);
  });

  it('reports every problem at once, each naming its field', () => {
    const r = check(backup('team-a', { ttl: 'forever', includeVolumes: ['a'], excludeVolumes: ['b'] }), undefined) as { ok: false; errors: string[] };
    expect(r.errors.map((e) => e.split(/[: ]/)[0])).toEqual(['spec.storageLocation', 'spec.includeVolumes', 'spec.ttl']);
  });
});

describe('selectNamespaces', () => {
  it('matches globs with exclusions', () => {
    expect(selectNamespaces(['team-*', '!team-b'], ['team-a', 'team-b', 'team-c', 'other'])).toEqual(['team-a', 'team-c']);
  });
});
