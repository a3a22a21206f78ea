// What `--wait` shows: a progress line per poll (a bar, percent, bytes, files, volumes), the final
// line on stdout, and for a final phase that is not a success the CliError with every reason.
import type { Backup, BackupStorageLocation, DeleteBackupRequest, Restore } from '../../../common/src/crds.ts';
import { CliError } from '../exit.ts';
import { bytes, duration, percent, plural } from './format.ts';
import { ref, volumeCount } from './lists.ts';

export type Followed =
  | { kind: 'Backup'; obj: Backup }
  | { kind: 'Restore'; obj: Restore }
  | { kind: 'DeleteBackupRequest'; obj: DeleteBackupRequest }
  | { kind: 'BackupStorageLocation'; obj: BackupStorageLocation };

/** `[#########...........]  45%`; with no known total the bar is empty and the percent `--`. */
export function progressBar(done: number | undefined, total: number | undefined, width = 20): string {
  const pct = percent(done, total);
  const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct === undefined ? ' --' : String(pct).padStart(3)}%`;
}

/** Whether the followed object reached a phase after which nothing more happens. */
export function isFinal(f: Followed): boolean {
  const phase = f.obj.status?.phase;
  switch (f.kind) {
    case 'Backup':
    case 'Restore':
      return phase === 'Completed' || phase === 'PartiallyFailed' || phase === 'Failed' || phase === 'FailedValidation';
    case 'DeleteBackupRequest':
      return phase === 'Processed' || phase === 'Failed';
    case 'BackupStorageLocation':
      return phase === 'Available' || phase === 'Unavailable';
  }
}

/** One line of progress, without a newline. */
export function progressLine(f: Followed): string {
  const name = ref(f.kind, f.obj.metadata.name);
  const phase = f.obj.status?.phase;
  if (f.kind === 'Backup' || f.kind === 'Restore') {
    const s = f.obj.status;
    if (!phase || phase === 'New') return `${name} New: waiting for the coordinator`;
    if (phase === 'Queued') return `${name} Queued${s?.queuePosition ? `: position ${s.queuePosition} in the queue` : ''}`;
    if (phase !== 'InProgress') return `${name} ${phase}`;
    const p = s?.progress;
    if (!p || (!p.totalBytes && !p.bytesDone && !p.filesDone)) return `${name} InProgress ${progressBar(undefined, undefined)}  starting`;
    const files = p.totalFiles !== undefined ? `${p.filesDone ?? 0}/${p.totalFiles} files` : `${p.filesDone ?? 0} files`;
    const volumes = volumeCount(s?.volumes);
    return `${name} InProgress ${progressBar(p.bytesDone, p.totalBytes)}  ${bytes(p.bytesDone ?? 0)}/${bytes(p.totalBytes ?? 0)}  ${files}${volumes === '-' ? '' : `  ${volumes} volumes`}`;
  }
  if (f.kind === 'DeleteBackupRequest') return `${name} ${phase ?? 'New'}${!phase || phase === 'New' ? ': waiting for the coordinator' : ''}`;
  return `${name} ${phase ?? 'New'}${phase ? '' : ': waiting for the coordinator to validate it'}`;
}

/** The last line on stdout once the object is final. */
export function finalLine(f: Followed): string {
  const name = ref(f.kind, f.obj.metadata.name);
  const phase = f.obj.status?.phase ?? 'New';
  if (f.kind === 'Backup' || f.kind === 'Restore') {
    const s = f.obj.status;
    if (phase === 'FailedValidation' || !s?.volumes) return `${name} ${phase}`;
    const counted = s.volumes.filter((v) => v.phase !== 'Skipped');
    const done = counted.filter((v) => v.phase === 'Completed').length;
    const vols = done === counted.length ? plural(done, 'volume') : `${done} of ${plural(counted.length, 'volume')}`;
    const took = s.startTimestamp && s.completionTimestamp ? ` in ${duration(Date.parse(s.completionTimestamp) - Date.parse(s.startTimestamp))}` : '';
    return `${name} ${phase} (${vols}, ${bytes(s.progress?.bytesDone ?? 0)}, ${plural(s.progress?.filesDone ?? 0, 'file')}${took})`;
  }
  if (f.kind === 'DeleteBackupRequest') {
    const r = f.obj.status?.removed;
    const removed = r ? ` (manifest ${r.manifest ? 'deleted' : 'not deleted'}, ${plural(r.index ?? 0, 'index object')} and ${plural(r.packs ?? 0, 'pack')} removed)` : '';
    return `${name} ${phase}: backup ${f.obj.spec.backupName}${phase === 'Processed' ? ' deleted' : ''}${removed}`;
  }
  return `${name} ${phase}`;
}

/** The error for a final phase that is not a success; undefined for Completed, Processed, Available. */
export function failureOf(f: Followed): CliError | undefined {
  const ns = f.obj.metadata.namespace;
  const name = `${ns ? `${ns}/` : ''}${f.obj.metadata.name}`;
  if (f.kind === 'Backup' || f.kind === 'Restore') {
    const s = f.obj.status;
    const phase = s?.phase;
    if (phase !== 'Failed' && phase !== 'PartiallyFailed' && phase !== 'FailedValidation') return undefined;
    const details = [
      ...(s?.validationErrors ?? []),
      ...(s?.volumes ?? []).filter((v) => v.phase === 'Failed').map((v) => `volume ${v.pvc ?? '?'}: ${v.errorCode ? `${v.errorCode}: ` : ''}${v.message ?? 'failed'}`),
    ];
    const what = f.kind === 'Backup' ? 'backup' : 'restore';
    return new CliError(phase, `${what} ${name} ${phase}${s?.errorCode ? ` (${s.errorCode})` : ''}${s?.message ? `: ${s.message}` : ''}`, { details });
  }
  if (f.kind === 'DeleteBackupRequest') {
    const s = f.obj.status;
    if (s?.phase !== 'Failed') return undefined;
    return new CliError('Failed', `deletion of backup ${f.obj.spec.backupName} (request ${name}) Failed${s.errorCode ? ` (${s.errorCode})` : ''}`, { details: s.errors ?? [] });
  }
  const s = f.obj.status;
  if (s?.phase !== 'Unavailable') return undefined;
  return new CliError('Unavailable', `location ${name} is Unavailable${s.reason ? ` (${s.reason})` : ''}${s.message ? `: ${s.message}` : ''}`);
}
