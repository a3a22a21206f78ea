// The parent backup's index of the same lineage, read as a stream alongside the walk: both are in
// path order, so finding a path's previous entry is a merge step and memory stays constant.
import type { Readable } from 'node:stream';
import { CairnError } from '../../../common/src/errors.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { comparePaths } from '../../../common/src/format/path-order.ts';
import { manifestKey } from '../../../common/src/format/layout.ts';
import { decodeManifest } from '../../../common/src/format/manifest.ts';
import { openIndex } from '../../../common/src/format/index-object.ts';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import { defaultReadLimits } from './read-limits.ts';

export interface ParentCursor {
  /** Packs of the parent's volume (for the lease that protects them during this backup). */
  packs: string[];
  /** The parent's entry for `path`, if any; calls must come in path order. */
  seek(path: Buffer): Promise<IndexEntry | undefined>;
  close(): Promise<void>;
}

export async function openParentIndex(store: ObjectStore, parent: string, lineage: string, key: Buffer | undefined, signal: AbortSignal): Promise<ParentCursor> {
  const mk = manifestKey(parent);
  const manifest = decodeManifest(await store.getObject(mk, { signal }), mk, parent, key);
  const vol = manifest.volumes.find((v) => v.lineage === lineage);
  if (!vol) throw new CairnError('CAIRN_E_NOT_FOUND', `parent backup ${parent} has no volume of lineage ${lineage}`);
  const stream: Readable = await store.getObjectStream(vol.index, { signal });
  const reader = await openIndex(stream, { objectKey: vol.index, expectSha256: vol.indexSha256, limits: defaultReadLimits, ...(key ? { key } : {}) });
  if (reader.header.lineage !== lineage) throw new CairnError('CAIRN_E_CORRUPT', `${vol.index}: index of lineage ${reader.header.lineage}, not ${lineage}`);
  let current: IndexEntry | undefined;
  let done = false;
  let chain: Promise<unknown> = Promise.resolve();
  const step = async (path: Buffer): Promise<IndexEntry | undefined> => {
    for (;;) {
      if (!current && !done) {
        const r = await reader.entries.next();
        if (r.done) done = true;
        else current = r.value;
      }
      if (!current) return undefined;
      const c = comparePaths(current.path, path);
      if (c > 0) return undefined;
      const hit = current;
      current = undefined;
      if (c === 0) return hit;
    }
  };
  return {
    packs: vol.packs,
    seek(path) {
      const r = chain.then(() => step(path));
      chain = r.catch(() => {});
      return r;
    },
    async close() {
      await reader.entries.return({ entries: 0, packs: [] });
      stream.destroy();
    },
  };
}
