// The sync loop of one BackupStorageLocation (DESIGN 2, 3.11; docs/locations.md "Sync from the
// bucket"): every complete backup in the bucket whose name no Backup of the namespace uses
// becomes a Backup there, Completed, with its volumes and sizes from the manifest. The bucket is
// the tenant's (or someone else's, through a ReadOnly location), so nothing read from it becomes
// a spec: a synced Backup names only its location, lives only in the location's namespace, and
// their number per location is capped so a bucket cannot fill etcd. Nothing is ever written to
// the bucket.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURALS, VERSION, type Backup } from '../../../common/src/crds.ts';
import { CairnError, isCairnError } from '../../../common/src/errors.ts';
import { checkBackupName, manifestKey } from '../../../common/src/format/layout.ts';
import { decodeManifest, type Manifest } from '../../../common/src/format/manifest.ts';
import type { Logger } from '../../../common/src/logger.ts';
import type { Secret } from '../../../common/src/secret.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { updateStatusWithRetry, type StatusApi } from '../runtime/status-writer.ts';
import { listCompleteBackups } from './complete-backups.ts';
import { deletedMeanwhile, invalidName, refusedByApi, takenMeanwhile, undecodable, unreadable, type SkippedBackup } from './skip-reasons.ts';
import { isSyncedFrom, locationLabel, syncedBackup, syncedLabel, syncedStatus } from './synced-backup.ts';

export { locationLabel, syncedLabel } from './synced-backup.ts';
export type { SkippedBackup } from './skip-reasons.ts';

/** The API calls the loop makes; a CustomObjectsApi has them. */
export type SyncApi = Pick<CustomObjectsApi, 'createNamespacedCustomObject'> & StatusApi;

export interface SyncOptions {
  location: { namespace: string; name: string; accessMode: 'ReadWrite' | 'ReadOnly' };
  /** Scoped to the location's bucket and prefix; a ReadOnly location's refuses writes. */
  store: ObjectStore;
  /** When set, manifests must authenticate with it. */
  encryptionKey?: Secret<Buffer>;
  api: SyncApi;
  /** Every Backup currently in the namespace (the informer cache). */
  existing: readonly Backup[];
  /** Synced Backups of this location at most, those in `existing` included. */
  limit: number;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface SyncResult {
  /** Backups created, with their status written. */
  created: string[];
  /** Complete backups in the bucket that were not synced, and why. */
  skipped: SkippedBackup[];
  /** Complete backups left unsynced because the location reached `limit`. */
  limited: number;
  /**
   * Synced Backups of this location found without a phase (a run that stopped between creating
   * one and writing its status) whose status this run wrote.
   */
  repaired: string[];
}

/** The largest manifest decodeManifest accepts. */
const maxManifestBytes = 16 << 20;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function checkAborted(signal: AbortSignal | undefined, location: string): void {
  if (signal?.aborted) throw new CairnError('CAIRN_E_ABORTED', `sync of BackupStorageLocation ${location} was cancelled`, { cause: signal.reason });
}

function validName(name: string): boolean {
  try {
    checkBackupName(name);
    return true;
  } catch {
    return false;
  }
}

export async function syncBackups(o: SyncOptions): Promise<SyncResult> {
  const { location, store, signal } = o;
  const { namespace, name: bsl } = location;
  if (!namespace) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `BackupStorageLocation ${bsl}: no namespace to sync into`);
  if (bsl.length > 63 || !labelValue.test(bsl)) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `BackupStorageLocation ${namespace}/${bsl}: the name is not a valid value of the ${locationLabel} label (at most 63 characters), so its backups cannot be synced`);
  }
  if (!Number.isSafeInteger(o.limit) || o.limit < 0) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `sync limit must be a non-negative integer, not ${o.limit}`);
  const log = o.logger?.child({ namespace, location: bsl, accessMode: location.accessMode });
  const result: SyncResult = { created: [], skipped: [], limited: 0, repaired: [] };
  const key = o.encryptionKey?.reveal();

  const used = new Set<string>();
  const unfinished = new Map<string, Backup>();
  let synced = 0;
  for (const b of o.existing) {
    const n = b.metadata.name;
    if (n === undefined) continue;
    used.add(n);
    const labels = b.metadata.labels ?? {};
    if (labels[syncedLabel] === 'true' && labels[locationLabel] === bsl) synced++;
    if ((b.metadata.namespace ?? namespace) === namespace && isSyncedFrom(b, bsl) && b.status?.phase === undefined) unfinished.set(n, b);
  }

  checkAborted(signal, bsl);
  let names: string[];
  try {
    names = await listCompleteBackups(store, signal);
  } catch (err) {
    if (signal?.aborted) checkAborted(signal, bsl);
    throw err;
  }

  const skip = (s: SkippedBackup): undefined => {
    result.skipped.push(s);
    log?.warn({ backup: s.backup, reason: s.reason, code: s.code }, 'backup in the bucket not synced');
    return undefined;
  };

  /** The decoded manifest, or undefined after recording why it was skipped. */
  const readManifest = async (name: string): Promise<Manifest | undefined> => {
    const mk = manifestKey(name);
    let data: Buffer;
    try {
      data = await store.getObject(mk, { maxBytes: maxManifestBytes, ...(signal ? { signal } : {}) });
    } catch (err) {
      checkAborted(signal, bsl);
      const why = unreadable(name, err);
      if (!why) throw err;
      return skip(why);
    }
    try {
      return decodeManifest(data, mk, name, key);
    } catch (err) {
      return skip(undecodable(name, err, key !== undefined));
    }
  };

  /**
   * Writes the Completed status unless the Backup already has a phase: 'written', 'phase' (it
   * had one, written by an earlier run or someone else) or 'gone' (deleted, or recreated).
   */
  const writeStatus = async (b: Backup, m: Manifest): Promise<'written' | 'phase' | 'gone'> => {
    const status = syncedStatus(m, bsl);
    try {
      const r = await updateStatusWithRetry(o.api, { kind: 'Backup', namespace, name: b.metadata.name!, ...(b.metadata.uid ? { uid: b.metadata.uid } : {}) },
        (s) => (s.phase === undefined ? status : false),
        { ...(b.metadata.generation !== undefined ? { observedGeneration: b.metadata.generation } : {}), ...(signal ? { signal } : {}) });
      return r.written ? 'written' : 'phase';
    } catch (err) {
      checkAborted(signal, bsl);
      if (isCairnError(err, 'CAIRN_E_NOT_FOUND')) return 'gone';
      throw err;
    }
  };

  for (const name of names) {
    checkAborted(signal, bsl);
    if (!validName(name)) {
      skip(invalidName(name));
      continue;
    }
    const unfinishedBackup = unfinished.get(name);
    if (unfinishedBackup) {
      const m = await readManifest(name);
      if (m && (await writeStatus(unfinishedBackup, m)) === 'written') {
        result.repaired.push(name);
        log?.info({ backup: name }, 'synced Backup found without status: status written');
      }
      continue;
    }
    if (used.has(name)) continue;
    if (synced >= o.limit) {
      result.limited++;
      continue;
    }
    const m = await readManifest(name);
    if (!m) continue;
    checkAborted(signal, bsl);
    let created: Backup;
    try {
      created = (await o.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.Backup, body: syncedBackup(namespace, name, bsl) })) as Backup;
    } catch (err) {
      const status = httpStatus(err);
      if (status === 409) skip(takenMeanwhile(name));
      else if (status === 422) skip(refusedByApi(name, status));
      else throw err;
      continue;
    }
    synced++;
    used.add(name);
    if ((await writeStatus(created, m)) === 'gone') {
      skip(deletedMeanwhile(name));
      continue;
    }
    result.created.push(name);
    log?.info({ backup: name }, 'synced Backup from the bucket');
  }
  if (result.limited > 0) log?.warn({ limited: result.limited, limit: o.limit }, 'synced Backup limit reached: backups in the bucket left unsynced');
  return result;
}
