// What a DeleteBackupRequest may do with the Backup it names, decided from API state only (pure,
// so every rule is unit-tested): DESIGN 2 and 3.2, docs/coordinator.md "Deleting backups".
import type { Backup, BackupPhase, BackupStorageLocation, DeleteBackupRequest, Restore } from '../../../common/src/crds.ts';
import type { ErrorCode } from '../../../common/src/errors.ts';

/**
 * Annotation on a DeleteBackupRequest: the uid of the Backup it was created for (the expiry sets
 * it). A Backup of that name with another uid (deleted and created again) is not touched.
 */
export const ANNOTATION_BACKUP_UID = 'cairn.dev/backup-uid';

export type DeletionPlan =
  /** Refuse: the request ends Failed with this code and message; nothing is deleted. */
  | { kind: 'refuse'; code: ErrorCode; message: string }
  /** The Backup is gone: an earlier attempt of this request deleted it. */
  | { kind: 'gone' }
  /** Nothing of it can be in a bucket: delete the Backup object only. */
  | { kind: 'objectOnly'; reason: string }
  /** Delete its data from this location, then the Backup object. */
  | { kind: 'data'; location: BackupStorageLocation };

export interface PlanInput {
  request: DeleteBackupRequest;
  /** The Backup named by spec.backupName in the request's namespace, read live; undefined when it does not exist. */
  backup: Backup | undefined;
  /** Its BackupStorageLocation (same namespace); undefined when it does not exist. */
  location: BackupStorageLocation | undefined;
  /** The request is InProgress already: this is a later attempt. */
  started: boolean;
}

/** Phases in which a Backup is still being made: deleting it then is refused. */
const running: ReadonlySet<BackupPhase | undefined> = new Set<BackupPhase | undefined>([undefined, 'New', 'Queued', 'InProgress']);

export function planDeletion({ request, backup, location, started }: PlanInput): DeletionPlan {
  const ns = request.metadata.namespace!;
  const name = request.spec.backupName;
  const pinned = request.metadata.annotations?.[ANNOTATION_BACKUP_UID];
  if (!backup || (pinned !== undefined && backup.metadata.uid !== pinned)) {
    if (started) return { kind: 'gone' };
    return {
      kind: 'refuse', code: 'CAIRN_E_NOT_FOUND',
      message: backup
        ? `spec.backupName: Backup ${name} in namespace ${ns} is not the Backup this request was created for (uid ${pinned}); it was deleted and created again, and is left alone`
        : `spec.backupName: Backup ${name} does not exist in namespace ${ns} (a DeleteBackupRequest deletes a Backup of its own namespace only)`,
    };
  }
  const phase = backup.status?.phase;
  if (running.has(phase)) {
    return {
      kind: 'refuse', code: 'CAIRN_E_INVALID_ARGUMENT',
      message: `spec.backupName: Backup ${name} is ${phase ?? 'New'}; a Backup can be deleted only once it is Completed, PartiallyFailed, Failed or FailedValidation: create a new DeleteBackupRequest then`,
    };
  }
  if (phase === 'FailedValidation') return { kind: 'objectOnly', reason: `Backup ${name} failed validation and never wrote to a bucket` };
  const locName = backup.spec.storageLocation;
  if (!location) {
    if (phase === 'Failed') return { kind: 'objectOnly', reason: `Backup ${name} Failed and its BackupStorageLocation ${locName} no longer exists; a failed backup left nothing complete in the bucket` };
    return {
      kind: 'refuse', code: 'CAIRN_E_NOT_FOUND',
      message: `Backup ${name}: its BackupStorageLocation ${locName} does not exist in namespace ${ns}, so its data cannot be deleted; create the location again, or delete the Backup object itself to keep the data`,
    };
  }
  if ((location.spec.accessMode ?? 'ReadWrite') === 'ReadOnly') {
    return { kind: 'refuse', code: 'CAIRN_E_INVALID_ARGUMENT', message: `location ${locName} is ReadOnly; Cairn never deletes from it (Backup ${name} is kept)` };
  }
  return { kind: 'data', location };
}

/**
 * Backups of the same location in this namespace that are running now. The deletion waits for
 * them: an incremental backup reads its parent's index before it takes the lease that protects
 * the parent's packs, so one that chose this Backup as parent a moment ago must get there first.
 */
export function runningBackupsOfLocation(backup: Backup, all: readonly Backup[]): string[] {
  return all
    .filter((b) => b.metadata.uid !== backup.metadata.uid && b.metadata.namespace === backup.metadata.namespace
      && b.spec.storageLocation === backup.spec.storageLocation && b.status?.phase === 'InProgress')
    .map((b) => b.metadata.name!)
    .sort();
}

/** Restores of this namespace reading this Backup now: deleting its data under them would fail them. */
export function restoresReading(backup: Backup, all: readonly Restore[]): string[] {
  return all
    .filter((r) => r.metadata.namespace === backup.metadata.namespace && r.spec.backupName === backup.metadata.name && r.status?.phase === 'InProgress')
    .map((r) => r.metadata.name!)
    .sort();
}
