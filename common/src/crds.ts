// Names and phase helpers for the cairn.dev API. The types come from the CRDs in manifests/crds/
// through the generator (./generated/crds.ts); this module adds what YAML cannot say.
import type {
  Backup,
  BackupStatus,
  BackupStorageLocation,
  BackupStorageLocationStatus,
  DeleteBackupRequest,
  DeleteBackupRequestStatus,
  NodeAgent,
  Restore,
  RestoreStatus,
  Schedule,
  ScheduleStatus,
} from './generated/crds.ts';

export type * from './generated/crds.ts';

export const GROUP = 'cairn.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export type CairnObject = BackupStorageLocation | Backup | Restore | Schedule | DeleteBackupRequest | NodeAgent;
export type CairnKind = CairnObject['kind'];

/** The plural (the resource in API paths and RBAC rules) of each kind. */
export const PLURALS = {
  BackupStorageLocation: 'backupstoragelocations',
  Backup: 'backups',
  Restore: 'restores',
  Schedule: 'schedules',
  DeleteBackupRequest: 'deletebackuprequests',
  NodeAgent: 'nodeagents',
} as const satisfies Record<CairnKind, string>;

/** Every kind is namespaced but NodeAgent. */
export function isNamespaced(kind: CairnKind): boolean {
  return kind !== 'NodeAgent';
}

/** Label the coordinator puts on Backups it created from what it found in a bucket. */
export const LABEL_SYNCED = 'cairn.dev/synced';
/** Annotation on a PVC or pod: "true" opts its volumes out of automatic backup. */
export const ANNOTATION_EXCLUDE = 'cairn.dev/exclude';

export type BackupPhase = NonNullable<BackupStatus['phase']>;
export type RestorePhase = NonNullable<RestoreStatus['phase']>;
export type SchedulePhase = NonNullable<ScheduleStatus['phase']>;
export type DeleteBackupRequestPhase = NonNullable<DeleteBackupRequestStatus['phase']>;
export type BackupStorageLocationPhase = NonNullable<BackupStorageLocationStatus['phase']>;

// Every phase of each union, in lifecycle order. The `complete` checks below fail to compile when
// a CRD gains a phase that is not listed here, so the lists and the unions cannot drift apart.
export const BACKUP_PHASES = [
  'New',
  'Queued',
  'InProgress',
  'Completed',
  'PartiallyFailed',
  'Failed',
  'FailedValidation',
  'Deleting',
] as const satisfies readonly BackupPhase[];
export const RESTORE_PHASES = [
  'New',
  'Queued',
  'InProgress',
  'Completed',
  'PartiallyFailed',
  'Failed',
  'FailedValidation',
] as const satisfies readonly RestorePhase[];
export const DELETE_BACKUP_REQUEST_PHASES = ['New', 'InProgress', 'Processed', 'Failed'] as const satisfies readonly DeleteBackupRequestPhase[];

type Complete<Union, List extends readonly unknown[]> = [Exclude<Union, List[number]>] extends [never] ? true : false;
const _backupPhasesComplete: Complete<BackupPhase, typeof BACKUP_PHASES> = true;
const _restorePhasesComplete: Complete<RestorePhase, typeof RESTORE_PHASES> = true;
const _deletePhasesComplete: Complete<DeleteBackupRequestPhase, typeof DELETE_BACKUP_REQUEST_PHASES> = true;

/** Phases after which nothing more happens to a Backup until it is deleted. */
export type FinalBackupPhase = Extract<BackupPhase, 'Completed' | 'PartiallyFailed' | 'Failed' | 'FailedValidation'>;
/** Phases after which nothing more happens to a Restore. */
export type FinalRestorePhase = Extract<RestorePhase, 'Completed' | 'PartiallyFailed' | 'Failed' | 'FailedValidation'>;
/** Phases after which nothing more happens to a DeleteBackupRequest. */
export type FinalDeleteBackupRequestPhase = Extract<DeleteBackupRequestPhase, 'Processed' | 'Failed'>;

const finalBackupPhases: ReadonlySet<string> = new Set<FinalBackupPhase>(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);
const finalRestorePhases: ReadonlySet<string> = new Set<FinalRestorePhase>(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);
const finalDeletePhases: ReadonlySet<string> = new Set<FinalDeleteBackupRequestPhase>(['Processed', 'Failed']);

/**
 * Whether a Backup in this phase is done: its data is complete or will never be. An absent phase
 * (a new object) is not final. Deleting is not final: the deletion is still running.
 */
export function isBackupFinal(phase: BackupPhase | undefined): phase is FinalBackupPhase {
  return phase !== undefined && finalBackupPhases.has(phase);
}

/** Whether a Restore in this phase is done. An absent phase (a new object) is not final. */
export function isRestoreFinal(phase: RestorePhase | undefined): phase is FinalRestorePhase {
  return phase !== undefined && finalRestorePhases.has(phase);
}

/** Whether a DeleteBackupRequest in this phase is done. An absent phase is not final. */
export function isDeleteBackupRequestFinal(phase: DeleteBackupRequestPhase | undefined): phase is FinalDeleteBackupRequestPhase {
  return phase !== undefined && finalDeletePhases.has(phase);
}

/** Narrows a phase read from an untyped object. */
export function isBackupPhase(value: unknown): value is BackupPhase {
  return typeof value === 'string' && (BACKUP_PHASES as readonly string[]).includes(value);
}

/** Narrows a phase read from an untyped object. */
export function isRestorePhase(value: unknown): value is RestorePhase {
  return typeof value === 'string' && (RESTORE_PHASES as readonly string[]).includes(value);
}
