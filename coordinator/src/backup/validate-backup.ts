// A Backup's spec, checked before anything runs (DESIGN 3.2, 3.11): every problem is one message
// naming the field and what is allowed. References resolve in the Backup's own namespace only,
// so naming another namespace's location is simply "does not exist here".
import { Minimatch } from 'minimatch';
import type { Backup, BackupStorageLocation } from '../../../common/src/crds.ts';
import { parseGoDuration } from '../config.ts';
import { validateNamespacePattern } from '../runtime/namespace-filter.ts';

export type BackupCheck =
  | { ok: true; location: BackupStorageLocation; ttlMs: number }
  | { ok: false; errors: string[] }
  /** The location exists but has not been validated yet: try again shortly. */
  | { ok: 'wait'; reason: string };

export interface BackupCheckInput {
  backup: Backup;
  /** The BackupStorageLocation of that name in the Backup's namespace, if any. */
  location: BackupStorageLocation | undefined;
  adminNamespace: string;
  defaultTtlMs: number;
}

export function validateBackup(i: BackupCheckInput): BackupCheck {
  const { backup, location } = i;
  const ns = backup.metadata.namespace!;
  const spec = backup.spec;
  const errors: string[] = [];
  let wait: string | undefined;
  if (!location) {
    errors.push(`spec.storageLocation: BackupStorageLocation ${JSON.stringify(spec.storageLocation)} does not exist in namespace ${ns}; a Backup can only use a location in its own namespace`);
  } else if (location.status?.phase === 'Unavailable') {
    errors.push(`spec.storageLocation: BackupStorageLocation ${spec.storageLocation} is Unavailable (${location.status.reason ?? 'unknown reason'}): ${location.status.message ?? ''}`.trim());
  } else if (location.status?.phase !== 'Available') {
    wait = `waiting for BackupStorageLocation ${spec.storageLocation} to be validated`;
  }
  if (location && (location.spec.accessMode ?? 'ReadWrite') === 'ReadOnly') {
    errors.push(`spec.storageLocation: BackupStorageLocation ${spec.storageLocation} is ReadOnly; a Backup needs a ReadWrite location`);
  }
  if (spec.includedNamespaces !== undefined) {
    if (ns !== i.adminNamespace) {
      if (spec.includedNamespaces.some((n) => n !== ns)) {
        errors.push(`spec.includedNamespaces: only a Backup in the admin namespace ${i.adminNamespace} may name other namespaces; here it may only be [${ns}] or absent`);
      }
    } else {
      for (const p of spec.includedNamespaces) {
        try {
          validateNamespacePattern(p, 'spec.includedNamespaces');
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }
  }
  if (spec.includeVolumes && spec.excludeVolumes) {
    errors.push('spec.includeVolumes and spec.excludeVolumes cannot both be set: list the PVCs to back up in includeVolumes, or those to skip in excludeVolumes');
  }
  let ttlMs = i.defaultTtlMs;
  if (spec.ttl !== undefined) {
    const parsed = parseGoDuration(spec.ttl);
    if (parsed === undefined || parsed <= 0) errors.push(`spec.ttl: ${JSON.stringify(spec.ttl)} is not a positive duration such as 720h or 1h30m`);
    else ttlMs = parsed;
  }
  if (errors.length > 0) return { ok: false, errors };
  if (wait) return { ok: 'wait', reason: wait };
  return { ok: true, location: location!, ttlMs };
}

/** The namespaces an admin Backup's includedNamespaces globs select (exclusions with `!`). */
export function selectNamespaces(patterns: readonly string[], namespaces: readonly string[]): string[] {
  const compile = (p: string) => new Minimatch(p, { nonegate: true, nocomment: true, noext: true, dot: true });
  const include = patterns.filter((p) => !p.startsWith('!')).map(compile);
  const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => compile(p.slice(1)));
  return namespaces.filter((n) => include.some((m) => m.match(n)) && !exclude.some((m) => m.match(n))).sort();
}
