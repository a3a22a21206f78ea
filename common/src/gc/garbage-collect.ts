// Garbage collection of packs: deletes packs that no index under the location's prefix
// references, holding the "gc" lock, sparing packs younger than a grace period (an incremental
// backup in progress may be about to reference them) and packs named by a live lease. It reads
// every volume's index; one that cannot be read (corrupt, wrong key) stops the collection
// before anything is deleted.
import { CairnError, isCairnError } from '../errors.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { backupsPrefix, packKeyOf, packsPrefix, parsePackKey } from '../format/layout.ts';
import { openIndex } from '../format/index-object.ts';
import type { FrameLimits } from '../format/zstd-frame.ts';
import { takeLock } from './lock.ts';
import { decodeLease, leasesPrefix } from './pack-lease.ts';

export interface GcOptions {
  /** The location's encryption key, to read sealed indexes. */
  key?: Buffer;
  /** Packs younger than this are kept even when unreferenced (default 6 h). */
  graceMs?: number;
  lockTtlMs?: number;
  now?: () => number;
  signal?: AbortSignal;
  /** Called after the references are collected and before deleting (tests pause here). */
  beforeDelete?: () => Promise<void>;
}

export interface GcResult {
  referenced: number;
  deleted: string[];
  sparedYoung: number;
  indexes: number;
}

const limits: FrameLimits & { maxLineBytes: number } = { maxFrameBytes: 16 << 20, maxRatio: 100_000, maxLineBytes: 1 << 20 };

export async function collectGarbage(store: ObjectStore, o: GcOptions = {}): Promise<GcResult> {
  const now = o.now ?? Date.now;
  const graceMs = o.graceMs ?? 6 * 3600_000;
  const sig = o.signal ? { signal: o.signal } : {};
  const lock = await takeLock(store, 'gc', { ttlMs: o.lockTtlMs ?? 15 * 60_000, purpose: 'garbage collection', now, ...sig });
  try {
    const referenced = new Set<string>();
    let indexes = 0;
    for await (const obj of store.list(backupsPrefix, sig)) {
      if (!obj.key.endsWith('.index.zst')) continue;
      indexes++;
      let stream;
      try {
        stream = await store.getObjectStream(obj.key, sig);
      } catch (err) {
        if (isCairnError(err, 'CAIRN_E_STORE_NOT_FOUND')) continue; // deleted since the listing
        throw err;
      }
      try {
        const reader = await openIndex(stream, { objectKey: obj.key, limits, ...(o.key ? { key: o.key } : {}) });
        // Packs the entries point at, and the packs the run wrote (its trailer lists both).
        let r = await reader.entries.next();
        for (; !r.done; r = await reader.entries.next()) {
          if (r.value.loc) referenced.add(packKeyOf(reader.header.lineage, r.value.loc.pack));
        }
        for (const p of r.value.packs) referenced.add(packKeyOf(reader.header.lineage, p));
      } catch (err) {
        stream.destroy();
        throw new CairnError(isCairnError(err) ? err.code : 'CAIRN_E_CORRUPT', `garbage collection stopped, nothing deleted: ${(err as Error).message}`, { cause: err });
      }
    }
    for await (const obj of store.list(leasesPrefix, sig)) {
      const lease = decodeLease(await store.getObject(obj.key, { maxBytes: 64 << 20, ...sig }), obj.key);
      if (lease.expiresAt > now()) for (const p of lease.packs) referenced.add(packKeyOf(lease.lineage, p));
      else await store.deleteObject(obj.key, sig);
    }
    const doomed: string[] = [];
    let sparedYoung = 0;
    for await (const obj of store.list(packsPrefix, sig)) {
      if (!parsePackKey(obj.key) || referenced.has(obj.key)) continue;
      if (obj.lastModified.getTime() > now() - graceMs) sparedYoung++;
      else doomed.push(obj.key);
    }
    await o.beforeDelete?.();
    if (doomed.length > 0) {
      if (!(await lock.stillHeld())) throw new CairnError('CAIRN_E_LOCKED', 'garbage collection lost its lock; nothing deleted');
      await store.deleteObjects(doomed, sig);
    }
    return { referenced: referenced.size, deleted: doomed, sparedYoung, indexes };
  } finally {
    await lock.release().catch(() => {});
  }
}
