// Deleting one backup's data from its bucket (DESIGN 4; docs/coordinator.md "Deleting backups"):
//
//   1. read the manifest (to know the backup's lineages and packs), then delete it FIRST: from
//      that moment the backup is no longer complete, so a crash anywhere later never leaves a
//      half-deleted backup that looks complete (or that the bucket sync would bring back);
//   2. delete every other object under the backup's prefix (the volume indexes);
//   3. collect garbage: packs no remaining index or live lease references are deleted.
//
// The grace period. collectGarbage spares unreferenced packs younger than a grace (6 h) because
// a backup running right now writes packs that no index names until its index lands; a grace of
// 0 for the whole bucket would delete those and corrupt that backup. The packs of the backup
// being deleted are a different case: its completed index referenced every one of them until
// step 2, so no running backup is writing them, and a running incremental that reuses them holds
// a lease naming them (which collectGarbage honours). So they are collected at once whatever
// their age, and every other unreferenced pack keeps the normal grace. collectGarbage takes one
// grace for all packs; the listing it sees reports this backup's packs as old (agedPacks below).
//
// Every step tolerates what an earlier, interrupted attempt already did (a missing manifest, no
// indexes left), so a deletion can simply be run again.
import { setTimeout as sleep } from 'node:timers/promises';
import { isCairnError, type ErrorCode } from '../../../common/src/errors.ts';
import { backupPrefix, manifestKey, packKeyOf, packsPrefix, parsePackKey } from '../../../common/src/format/layout.ts';
import { decodeManifest, type Manifest } from '../../../common/src/format/manifest.ts';
import { collectGarbage, type GcResult } from '../../../common/src/gc/garbage-collect.ts';
import type { ListedObject, ObjectStore } from '../../../common/src/store/object-store.ts';

/** The step that just finished. */
export type DeleteStep = 'manifest' | 'index' | 'packs';

export interface Removed {
  /** Whether this run found and deleted the manifest. */
  manifest: boolean;
  /** Volume index objects deleted. */
  index: number;
  /** Packs deleted in the lineages of the backup's volumes. */
  packs: number;
}

export interface DeleteDataOptions {
  /** The location's encryption key: to read a sealed manifest and the indexes garbage collection reads. */
  key?: Buffer;
  signal?: AbortSignal;
  /** Grace for unreferenced packs that were not this backup's (default collectGarbage's, 6 h). */
  graceMs?: number;
  now?: () => number;
  /**
   * Lineages to count deleted packs in besides the manifest's (the Backup's status.volumes): a
   * run that resumes after its manifest was deleted still counts them.
   */
  lineages?: readonly string[];
  /**
   * Collect garbage even when nothing of the backup is left in the bucket (a resumed deletion
   * whose earlier attempt deleted the manifest and indexes, then stopped).
   */
  alwaysCollect?: boolean;
  /** Another collection holds the lock: try again this many times (default 5), waiting 1, 2, 4 ... s. */
  lockRetries?: number;
  lockRetryDelayMs?: number;
  /** Called after each step with what was removed so far, and awaited (status writes; tests pause here). */
  pause?: (step: DeleteStep, removed: Removed) => Promise<void>;
}

export interface DeleteDataResult extends Removed {
  /**
   * Set when garbage collection could not run to the end for a reason retrying will not fix
   * (an index of another backup is corrupt or sealed with another key): the manifest and indexes
   * are gone, the packs stay until a later collection succeeds.
   */
  packsKept?: { code: ErrorCode; message: string };
}

/** Errors reading stored data that no retry fixes (the bucket's owner can write anything there). */
const unreadable: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['CAIRN_E_CORRUPT', 'CAIRN_E_WRONG_KEY', 'CAIRN_E_FORMAT', 'CAIRN_E_LIMIT_EXCEEDED', 'CAIRN_E_INVALID_ARGUMENT']);

/** The manifest, undefined when it is gone or cannot be read (the deletion goes on without it). */
async function readManifest(store: ObjectStore, backup: string, o: DeleteDataOptions): Promise<{ manifest?: Manifest; found: boolean }> {
  const mk = manifestKey(backup);
  let data: Buffer;
  try {
    data = await store.getObject(mk, { maxBytes: (16 << 20) + 1, ...(o.signal ? { signal: o.signal } : {}) });
  } catch (err) {
    if (isCairnError(err, 'CAIRN_E_STORE_NOT_FOUND')) return { found: false };
    if (isCairnError(err, 'CAIRN_E_LIMIT_EXCEEDED')) return { found: true };
    throw err;
  }
  try {
    return { manifest: decodeManifest(data, mk, backup, o.key), found: true };
  } catch (err) {
    if (isCairnError(err) && unreadable.has(err.code)) return { found: true };
    throw err;
  }
}

/**
 * The store as collectGarbage should see it: the packs in `old` are listed as older than any
 * grace, everything else as it is. Only the listing differs; reads, writes and deletes pass through.
 */
export function agedPacks(store: ObjectStore, old: ReadonlySet<string>): ObjectStore {
  async function* list(prefix: string, opts?: Parameters<ObjectStore['list']>[1]): AsyncIterable<ListedObject> {
    for await (const o of store.list(prefix, opts)) yield prefix.startsWith(packsPrefix) && old.has(o.key) ? { ...o, lastModified: new Date(0) } : o;
  }
  return {
    bucket: store.bucket,
    prefix: store.prefix,
    getObject: (key, opts) => store.getObject(key, opts),
    getObjectStream: (key, opts) => store.getObjectStream(key, opts),
    putObject: (key, body, opts) => store.putObject(key, body, opts),
    upload: (key, body, opts) => store.upload(key, body, opts),
    headObject: (key, opts) => store.headObject(key, opts),
    list,
    deleteObject: (key, opts) => store.deleteObject(key, opts),
    deleteObjects: (keys, opts) => store.deleteObjects(keys, opts),
    listMultipartUploads: (prefix, opts) => store.listMultipartUploads(prefix, opts),
    abortMultipartUpload: (key, uploadId, opts) => store.abortMultipartUpload(key, uploadId, opts),
    checkBucket: (opts) => store.checkBucket(opts),
    close: () => store.close(),
  };
}

async function collect(store: ObjectStore, o: DeleteDataOptions): Promise<GcResult> {
  const retries = o.lockRetries ?? 5;
  const delay = o.lockRetryDelayMs ?? 1_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await collectGarbage(store, {
        ...(o.key ? { key: o.key } : {}), ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}),
        ...(o.now ? { now: o.now } : {}), ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (err) {
      if (!isCairnError(err, 'CAIRN_E_LOCKED') || attempt >= retries) throw err;
      await sleep(Math.min(delay * 2 ** attempt, 30_000), undefined, o.signal ? { signal: o.signal } : {});
    }
  }
}

/** Deletes backup `backup`'s manifest, then its indexes, then the packs nothing references any more. */
export async function deleteBackupData(store: ObjectStore, backup: string, o: DeleteDataOptions = {}): Promise<DeleteDataResult> {
  const sig = o.signal ? { signal: o.signal } : {};
  const removed: Removed = { manifest: false, index: 0, packs: 0 };

  const { manifest, found } = await readManifest(store, backup, o);
  if (found) {
    await store.deleteObject(manifestKey(backup), sig);
    removed.manifest = true;
  }
  await o.pause?.('manifest', { ...removed });
  o.signal?.throwIfAborted();

  const rest: string[] = [];
  for await (const obj of store.list(backupPrefix(backup), sig)) if (obj.key !== manifestKey(backup)) rest.push(obj.key);
  if (rest.length > 0) await store.deleteObjects(rest, sig);
  removed.index = rest.filter((k) => k.endsWith('.index.zst')).length;
  await o.pause?.('index', { ...removed });
  o.signal?.throwIfAborted();

  const result: DeleteDataResult = removed;
  if (found || rest.length > 0 || o.alwaysCollect) {
    const lineages = new Set([...(manifest?.volumes.map((v) => v.lineage) ?? []), ...(o.lineages ?? [])]);
    const own = new Set(manifest?.volumes.flatMap((v) => v.packs.map((p) => packKeyOf(v.lineage, p))) ?? []);
    try {
      const gc = await collect(agedPacks(store, own), o);
      removed.packs = gc.deleted.filter((k) => lineages.has(parsePackKey(k)?.lineage ?? '')).length;
    } catch (err) {
      if (!(isCairnError(err) && unreadable.has(err.code)) || o.signal?.aborted) throw err;
      result.packsKept = { code: err.code, message: err.message };
    }
  }
  await o.pause?.('packs', { ...removed });
  return result;
}
