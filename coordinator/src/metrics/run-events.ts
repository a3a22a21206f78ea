// What a change of a Backup or Restore (as an informer reports it: the object and its previous
// state) means for the metrics: a run started (its wait in the queue), a run finished (its
// phase, duration, bytes and files of its completed volumes, its errors by code). Pure: the
// counting is derived from CR status, the one place a run's state lives, so the reconcilers need
// no metric calls and a new leader counts what it sees finish.
import { LABEL_SYNCED, isBackupFinal, isRestoreFinal, type BackupPhase, type RestorePhase } from '../../../common/src/crds.ts';
import { errorCodes, type ErrorCode } from '../../../common/src/errors.ts';

export type RunKind = 'Backup' | 'Restore';

/** The part of a Backup or Restore the metrics read. */
export interface RunObject {
  metadata: { namespace?: string; creationTimestamp?: string | Date; labels?: Record<string, string> };
  status?: {
    phase?: string;
    errorCode?: string;
    startTimestamp?: string;
    completionTimestamp?: string;
    volumes?: Array<{ phase?: string; bytes?: number; files?: number; errorCode?: string }>;
  };
}

export interface RunStarted {
  kind: RunKind;
  namespace: string;
  /** From creation to start: validation and the wait in the queue. */
  waitSeconds: number;
}

export interface RunFinished {
  kind: RunKind;
  namespace: string;
  phase: string;
  /** From start to completion; absent for a run that never started (FailedValidation). */
  durationSeconds?: number;
  /** Logical bytes and files of the volumes that completed. */
  bytes: number;
  files: number;
  /** Failed volumes by error code; a run that failed without a failed volume counts its own code once. */
  errors: Map<ErrorCode, number>;
}

function time(t: string | Date | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = typeof t === 'string' ? Date.parse(t) : t.getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** A code from status as a label value: one of the registry's, or CAIRN_E_INTERNAL (cardinality stays bounded). */
export function errorLabel(code: string | undefined): ErrorCode {
  return code !== undefined && code in errorCodes ? (code as ErrorCode) : 'CAIRN_E_INTERNAL';
}

function isFinal(kind: RunKind, phase: string | undefined): boolean {
  return kind === 'Backup' ? isBackupFinal(phase as BackupPhase | undefined) : isRestoreFinal(phase as RestorePhase | undefined);
}

export function runEvents(kind: RunKind, obj: RunObject, old: RunObject): { started?: RunStarted; finished?: RunFinished } {
  // A Backup found in a bucket by the sync arrives Completed: it ran elsewhere (or earlier).
  if (kind === 'Backup' && obj.metadata.labels?.[LABEL_SYNCED] === 'true') return {};
  const namespace = obj.metadata.namespace ?? '';
  const out: { started?: RunStarted; finished?: RunFinished } = {};
  const start = time(obj.status?.startTimestamp);
  if (start !== undefined && old.status?.startTimestamp === undefined) {
    const created = time(obj.metadata.creationTimestamp) ?? start;
    out.started = { kind, namespace, waitSeconds: Math.max(0, (start - created) / 1000) };
  }
  const phase = obj.status?.phase;
  if (isFinal(kind, phase) && !isFinal(kind, old.status?.phase)) {
    const end = time(obj.status?.completionTimestamp);
    let bytes = 0;
    let files = 0;
    const errors = new Map<ErrorCode, number>();
    for (const v of obj.status?.volumes ?? []) {
      if (v.phase === 'Completed') {
        bytes += Number(v.bytes ?? 0);
        files += Number(v.files ?? 0);
      } else if (v.phase === 'Failed') {
        const code = errorLabel(v.errorCode);
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
    }
    if (errors.size === 0 && phase !== 'Completed') errors.set(errorLabel(obj.status?.errorCode), 1);
    out.finished = {
      kind, namespace, phase: phase!, bytes, files, errors,
      ...(start !== undefined && end !== undefined ? { durationSeconds: Math.max(0, (end - start) / 1000) } : {}),
    };
  }
  return out;
}
