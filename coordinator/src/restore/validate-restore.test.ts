import { describe, expect, it } from 'vitest';
import type { Backup, BackupStorageLocation, Restore } from '../../../common/src/crds.ts';
import { checkRestorePath, validateRestore } from './validate-restore.ts';

const restore = (spec: Partial<Restore['spec']> = {}): Restore => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'Restore', metadata: { name: 'r', namespace: 'team-a' }, spec: { backupName: 'first', ...spec },
});
const backup = (phase: NonNullable<Backup['status']>['phase']): Backup => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', metadata: { name: 'first', namespace: 'team-a' }, spec: { storageLocation: 'main' }, status: { phase },
});
const loc: BackupStorageLocation = {
  apiVersion: 'cairn.dev/v1alpha1', kind: 'BackupStorageLocation', metadata: { name: 'main', namespace: 'team-a' },
  spec: { objectStorage: { bucket: 'x' }, credential: { name: 's', key: 'k' }, accessMode: 'ReadOnly' }, status: { phase: 'Available' },
};

describe('validateRestore', () => {
  it('accepts a Completed or PartiallyFailed backup whose location is Available, ReadOnly included', () => {
    expect(validateRestore({ restore: restore(), backup: backup('Completed'), location: loc }).ok).toBe(true);
    expect(validateRestore({ restore: restore(), backup: backup('PartiallyFailed'), location: loc }).ok).toBe(true);
  });

  it('a Backup that does not exist here fails naming spec.backupName; one still running is waited for; a Failed one is refused', () => {
    expect(validateRestore({ restore: restore(), backup: undefined, location: undefined })).toMatchObject({ ok: false, errors: [expect.stringMatching(/^spec\.backupName: /)] });
    expect(validateRestore({ restore: restore(), backup: backup('InProgress'), location: loc }).ok).toBe('wait');
    expect(validateRestore({ restore: restore(), backup: backup('Failed'), location: loc })).toMatchObject({ ok: false, errors: [expect.stringContaining('is Failed')] });
  });

  it('targets name each volume and PVC once; paths stay inside the volume', () => {
    const r = validateRestore({
      restore: restore({ targets: [{ volume: 'a', pvc: 'x' }, { volume: 'a', pvc: 'x' }, { volume: 'b', pvc: 'Bad_Name' }], paths: ['ok/dir', '/etc', 'a/../../b'] }),
      backup: backup('Completed'), location: loc,
    }) as { ok: false; errors: string[] };
    expect(r.errors.map((e) => e.split(':')[0])).toEqual(['spec.targets[1].volume', 'spec.targets[1].pvc', 'spec.targets[2].pvc', 'spec.paths[1]', 'spec.paths[2]']);
  });

  it('checkRestorePath', () => {
    expect(checkRestorePath('a/b')).toBeUndefined();
    expect(checkRestorePath('')).toBeDefined();
    expect(checkRestorePath('x\0y')).toBeDefined();
    expect(checkRestorePath('..')).toBeDefined();
  });
});
