// Why a complete backup found in a bucket was not synced. Every reason is fixed text written
// here: nothing read from the bucket (an error message that quotes a manifest, say) ever reaches
// a reason, only the backup's name beside it.
import { isCairnError, type ErrorCode } from '../../../common/src/errors.ts';

export interface SkippedBackup {
  /** The backup's name; for a name that is not valid, a printable rendering of it. */
  backup: string;
  reason: string;
  /** The CAIRN_E_* code of the failure; absent when the name was merely taken meanwhile. */
  code?: ErrorCode;
}

const printable = /[^a-z0-9.-]/g;

/** A name that failed checkBackupName, safe to show: only [a-z0-9.-], '?' for the rest, cut at 64. */
export function printableName(name: string): string {
  const shown = name.slice(0, 64).replace(printable, '?');
  return name.length > 64 ? `${shown}...` : shown;
}

export const invalidName = (name: string): SkippedBackup => ({
  backup: printableName(name),
  reason: 'the name in the bucket is not a valid backup name (a DNS-1123 subdomain of at most 253 characters)',
  code: 'CAIRN_E_INVALID_ARGUMENT',
});

/** A store failure that concerns this one manifest (others fail the whole sync). */
export function unreadable(backup: string, err: unknown): SkippedBackup | undefined {
  if (isCairnError(err, 'CAIRN_E_STORE_NOT_FOUND')) return { backup, reason: 'the manifest was deleted after it was listed', code: err.code };
  if (isCairnError(err, 'CAIRN_E_STORE_ACCESS_DENIED')) return { backup, reason: "the location's credentials may not read the manifest", code: err.code };
  if (isCairnError(err, 'CAIRN_E_LIMIT_EXCEEDED')) return { backup, reason: 'the manifest is larger than 16 MiB', code: err.code };
  return undefined;
}

/** decodeManifest refused the manifest: the reason from its code, never from its message. */
export function undecodable(backup: string, err: unknown, hasKey: boolean): SkippedBackup {
  const code: ErrorCode = isCairnError(err) ? err.code : 'CAIRN_E_FORMAT';
  const reasons: Partial<Record<ErrorCode, string>> = {
    CAIRN_E_WRONG_KEY: hasKey
      ? "the manifest is not encrypted with the location's encryption key"
      : 'the backup is encrypted and the location has no encryption key',
    CAIRN_E_CORRUPT: 'the manifest failed authentication or does not belong to a backup of this name',
    CAIRN_E_FORMAT: 'the manifest is not a Cairn v1 backup manifest',
    CAIRN_E_LIMIT_EXCEEDED: 'the manifest is larger than 16 MiB',
    CAIRN_E_INVALID_ARGUMENT: 'the manifest holds an invalid volume id, lineage or pack id',
  };
  return { backup, reason: reasons[code] ?? `the manifest could not be decoded (${code})`, code };
}

export const takenMeanwhile = (backup: string): SkippedBackup => ({ backup, reason: 'a Backup of this name was created meanwhile' });

export const refusedByApi = (backup: string, status: number): SkippedBackup => ({
  backup,
  reason: `the API server refused to create the Backup (HTTP ${status})`,
  code: 'CAIRN_E_INVALID_ARGUMENT',
});

export const deletedMeanwhile = (backup: string): SkippedBackup => ({
  backup,
  reason: 'the Backup was deleted right after it was created, before its status was written',
  code: 'CAIRN_E_NOT_FOUND',
});
