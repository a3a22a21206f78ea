// A Restore's spec, checked before anything runs: the Backup and its location resolve in the
// Restore's own namespace; targets name each volume and each PVC once; paths are relative and
// stay inside the volume. Every problem is one message naming the field.
import type { Backup, BackupStorageLocation, Restore } from '../../../common/src/crds.ts';

export type RestoreCheck =
  | { ok: true; backup: Backup; location: BackupStorageLocation }
  | { ok: false; errors: string[] }
  | { ok: 'wait'; reason: string };

export interface RestoreCheckInput {
  restore: Restore;
  backup: Backup | undefined;
  /** The Backup's location, looked up in the same namespace. */
  location: BackupStorageLocation | undefined;
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function checkRestorePath(p: string): string | undefined {
  if (p.length === 0 || p.length > 4096) return 'must be 1 to 4096 characters';
  if (p.startsWith('/')) return 'must be relative to the volume root (no leading /)';
  if (p.includes('\0')) return 'must not contain NUL';
  if (p.split('/').some((c) => c === '..')) return 'must not contain ".."';
  return undefined;
}

export function validateRestore(i: RestoreCheckInput): RestoreCheck {
  const { restore, backup, location } = i;
  const ns = restore.metadata.namespace!;
  const spec = restore.spec;
  const errors: string[] = [];
  let wait: string | undefined;
  if (!backup) {
    errors.push(`spec.backupName: Backup ${JSON.stringify(spec.backupName)} does not exist in namespace ${ns}; a Restore can only use a Backup in its own namespace (sync another namespace's backups in through a ReadOnly BackupStorageLocation)`);
  } else {
    const phase = backup.status?.phase;
    if (phase === 'Completed' || phase === 'PartiallyFailed') {
      if (!location) errors.push(`spec.backupName: the Backup's BackupStorageLocation ${backup.spec.storageLocation} does not exist in namespace ${ns}`);
      else if (location.status?.phase === 'Unavailable') errors.push(`spec.backupName: the Backup's BackupStorageLocation ${backup.spec.storageLocation} is Unavailable (${location.status.reason ?? 'unknown reason'})`);
      else if (location.status?.phase !== 'Available') wait = `waiting for BackupStorageLocation ${backup.spec.storageLocation} to be validated`;
    } else if (phase === undefined || phase === 'New' || phase === 'Queued' || phase === 'InProgress') {
      wait = `waiting for Backup ${backup.metadata.name} to finish (${phase ?? 'New'})`;
    } else {
      errors.push(`spec.backupName: Backup ${backup.metadata.name} is ${phase}; only a Completed or PartiallyFailed backup can be restored`);
    }
  }
  const seenVolumes = new Set<string>();
  const seenPvcs = new Set<string>();
  (spec.targets ?? []).forEach((t, n) => {
    if (seenVolumes.has(t.volume)) errors.push(`spec.targets[${n}].volume: ${t.volume} appears more than once`);
    if (seenPvcs.has(t.pvc)) errors.push(`spec.targets[${n}].pvc: ${t.pvc} appears more than once`);
    if (!dnsSubdomain.test(t.pvc)) errors.push(`spec.targets[${n}].pvc: ${JSON.stringify(t.pvc)} is not a PVC name (a DNS-1123 subdomain)`);
    seenVolumes.add(t.volume);
    seenPvcs.add(t.pvc);
  });
  (spec.paths ?? []).forEach((p, n) => {
    const bad = checkRestorePath(p);
    if (bad) errors.push(`spec.paths[${n}]: ${JSON.stringify(p.slice(0, 100))} ${bad}`);
  });
  if (errors.length > 0) return { ok: false, errors };
  if (wait) return { ok: 'wait', reason: wait };
  return { ok: true, backup: backup!, location: location! };
}
