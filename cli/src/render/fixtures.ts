// Builders of Cairn objects for unit tests: `backup('b1').phase('InProgress').volume({ pvc: 'data' }).build()`.
import type { Backup, BackupStatus, Restore, VolumeStatus } from '../../../common/src/crds.ts';

export const created = '2025-01-01T00:00:00Z';

class RunBuilder<T extends Backup | Restore> {
  protected readonly obj: T;
  constructor(obj: T) {
    this.obj = obj;
  }
  phase(p: NonNullable<BackupStatus['phase']>): this {
    (this.obj.status ??= {}).phase = p;
    return this;
  }
  status(s: Partial<BackupStatus>): this {
    this.obj.status = { ...this.obj.status, ...s };
    return this;
  }
  volume(v: VolumeStatus): this {
    ((this.obj.status ??= {}).volumes ??= []).push(v);
    return this;
  }
  progress(bytesDone: number, totalBytes: number, filesDone = 0, totalFiles?: number): this {
    (this.obj.status ??= {}).progress = { bytesDone, totalBytes, filesDone, ...(totalFiles === undefined ? {} : { totalFiles }) };
    return this;
  }
  build(): T {
    return structuredClone(this.obj);
  }
}

export class BackupBuilder extends RunBuilder<Backup> {
  spec(s: Partial<Backup['spec']>): this {
    this.obj.spec = { ...this.obj.spec, ...s };
    return this;
  }
}

export function backup(name: string, namespace = 'team-a'): BackupBuilder {
  return new BackupBuilder({ apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', metadata: { name, namespace, creationTimestamp: created as unknown as Date }, spec: { storageLocation: 'main' } });
}

export class RestoreBuilder extends RunBuilder<Restore> {
  spec(s: Partial<Restore['spec']>): this {
    this.obj.spec = { ...this.obj.spec, ...s };
    return this;
  }
}

export function restore(name: string, backupName: string, namespace = 'team-a'): RestoreBuilder {
  return new RestoreBuilder({ apiVersion: 'cairn.dev/v1alpha1', kind: 'Restore', metadata: { name, namespace, creationTimestamp: created as unknown as Date }, spec: { backupName } });
}
