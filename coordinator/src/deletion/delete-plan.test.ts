import { describe, expect, it } from 'vitest';
import type { Backup, BackupPhase, BackupStorageLocation, DeleteBackupRequest, Restore, RestorePhase } from '../../../common/src/crds.ts';
import { ANNOTATION_BACKUP_UID, planDeletion, restoresReading, runningBackupsOfLocation } from './delete-plan.ts';

const request = (backupName = 'b1', annotations?: Record<string, string>): DeleteBackupRequest => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'DeleteBackupRequest', metadata: { name: 'del', namespace: 'team-a', ...(annotations ? { annotations } : {}) }, spec: { backupName },
});
const backup = (phase: BackupPhase | undefined, o: { name?: string; uid?: string; location?: string; namespace?: string } = {}): Backup => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', metadata: { name: o.name ?? 'b1', namespace: o.namespace ?? 'team-a', uid: o.uid ?? 'uid-1' },
  spec: { storageLocation: o.location ?? 'main' }, ...(phase ? { status: { phase } } : {}),
});
const location = (accessMode?: 'ReadWrite' | 'ReadOnly'): BackupStorageLocation => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'BackupStorageLocation', metadata: { name: 'main', namespace: 'team-a' },
  spec: { objectStorage: { bucket: 'x' }, credential: { name: 's', key: 'k' }, ...(accessMode ? { accessMode } : {}) },
});

describe('planDeletion', () => {
  it('a Backup that does not exist in the request\'s namespace: refused naming spec.backupName; gone when the request already started', () => {
    expect(planDeletion({ request: request('other'), backup: undefined, location: undefined, started: false })).toEqual({
      kind: 'refuse', code: 'CAIRN_E_NOT_FOUND', message: expect.stringMatching(/^spec\.backupName: Backup other does not exist in namespace team-a/) as string,
    });
    expect(planDeletion({ request: request(), backup: undefined, location: undefined, started: true })).toEqual({ kind: 'gone' });
  });

  it('refuses while the Backup is being made, naming it and its phase', () => {
    for (const phase of [undefined, 'New', 'Queued', 'InProgress'] as const) {
      const p = planDeletion({ request: request(), backup: backup(phase), location: location(), started: false });
      expect(p).toMatchObject({ kind: 'refuse', code: 'CAIRN_E_INVALID_ARGUMENT' });
      expect((p as { message: string }).message).toContain(`Backup b1 is ${phase ?? 'New'}`);
    }
  });

  it('deletes the data of a final or Deleting Backup from its ReadWrite location', () => {
    for (const phase of ['Completed', 'PartiallyFailed', 'Failed', 'Deleting'] as const) {
      expect(planDeletion({ request: request(), backup: backup(phase), location: location(), started: false })).toMatchObject({ kind: 'data', location: { metadata: { name: 'main' } } });
      expect(planDeletion({ request: request(), backup: backup(phase), location: location('ReadWrite'), started: true }).kind).toBe('data');
    }
  });

  it('refuses a ReadOnly location, naming it', () => {
    expect(planDeletion({ request: request(), backup: backup('Completed'), location: location('ReadOnly'), started: false })).toEqual({
      kind: 'refuse', code: 'CAIRN_E_INVALID_ARGUMENT', message: 'location main is ReadOnly; Cairn never deletes from it (Backup b1 is kept)',
    });
    expect(planDeletion({ request: request(), backup: backup('Failed'), location: location('ReadOnly'), started: true }).kind).toBe('refuse');
  });

  it('FailedValidation, or Failed with its location gone: only the object is deleted', () => {
    expect(planDeletion({ request: request(), backup: backup('FailedValidation'), location: undefined, started: false }).kind).toBe('objectOnly');
    expect(planDeletion({ request: request(), backup: backup('FailedValidation'), location: location('ReadOnly'), started: false }).kind).toBe('objectOnly');
    expect(planDeletion({ request: request(), backup: backup('Failed'), location: undefined, started: false }).kind).toBe('objectOnly');
  });

  it('a Completed Backup whose location is gone is refused: its data cannot be reached', () => {
    const p = planDeletion({ request: request(), backup: backup('Completed'), location: undefined, started: false });
    expect(p).toMatchObject({ kind: 'refuse', code: 'CAIRN_E_NOT_FOUND' });
    expect((p as { message: string }).message).toContain('BackupStorageLocation main does not exist in namespace team-a');
  });

  it('a request pinned to a Backup uid leaves another Backup of that name alone', () => {
    const pinned = request('b1', { [ANNOTATION_BACKUP_UID]: 'uid-1' });
    expect(planDeletion({ request: pinned, backup: backup('Completed', { uid: 'uid-1' }), location: location(), started: false }).kind).toBe('data');
    expect(planDeletion({ request: pinned, backup: backup('Completed', { uid: 'uid-2' }), location: location(), started: false })).toMatchObject({ kind: 'refuse', code: 'CAIRN_E_NOT_FOUND' });
    expect(planDeletion({ request: pinned, backup: backup('Completed', { uid: 'uid-2' }), location: location(), started: true })).toEqual({ kind: 'gone' });
  });
});

describe('runningBackupsOfLocation', () => {
  it('names the other InProgress Backups of the same location and namespace only', () => {
    const me = backup('Deleting');
    const all = [
      me,
      backup('InProgress', { name: 'run-b', uid: 'u2' }),
      backup('InProgress', { name: 'run-a', uid: 'u3' }),
      backup('Queued', { name: 'queued', uid: 'u4' }),
      backup('Completed', { name: 'done', uid: 'u5' }),
      backup('InProgress', { name: 'elsewhere', uid: 'u6', location: 'other' }),
      backup('InProgress', { name: 'other-ns', uid: 'u7', namespace: 'team-b' }),
    ];
    expect(runningBackupsOfLocation(me, all)).toEqual(['run-a', 'run-b']);
    expect(runningBackupsOfLocation(me, [me])).toEqual([]);
  });
});

describe('restoresReading', () => {
  const restore = (name: string, backupName: string, phase: RestorePhase | undefined, namespace = 'team-a'): Restore => ({
    apiVersion: 'cairn.dev/v1alpha1', kind: 'Restore', metadata: { name, namespace }, spec: { backupName }, ...(phase ? { status: { phase } } : {}),
  });
  it('names the InProgress Restores of this Backup in its namespace only', () => {
    const all = [
      restore('r2', 'b1', 'InProgress'), restore('r1', 'b1', 'InProgress'), restore('queued', 'b1', 'Queued'), restore('done', 'b1', 'Completed'),
      restore('other-backup', 'b2', 'InProgress'), restore('other-ns', 'b1', 'InProgress', 'team-b'),
    ];
    expect(restoresReading(backup('Deleting'), all)).toEqual(['r1', 'r2']);
  });
});
