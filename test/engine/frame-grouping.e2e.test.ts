// A restore fetches each frame it needs once, even when the index alternates between frames: the
// index of an incremental backup lists unchanged files (in the parent's frames) between changed
// ones (in new frames), and restoring entry by entry in index order would fetch and decompress
// the parent's frames again after every changed file.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { backup, restore } from '../../agent/src/engine/index.ts';
import type { ObjectStore } from '../../common/src/store/object-store.ts';
import { digestTree, lineage, newKey, scratch, tenantStore } from './helpers.ts';

const cluster = inject('cluster');
/** Small frames, so that a small tree has many. */
const tuning = { frameBytes: 64 << 10 };

/** `store`, counting the ranged GETs of each byte range. */
function counting(store: ObjectStore): { store: ObjectStore; gets: Map<string, number> } {
  const gets = new Map<string, number>();
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'getObject') {
        return (key: string, o?: Parameters<ObjectStore['getObject']>[1]) => {
          if (o?.range) gets.set(`${key}@${o.range.start}`, (gets.get(`${key}@${o.range.start}`) ?? 0) + 1);
          return target.getObject(key, o);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, gets };
}

describe('frame grouping on restore', () => {
  it('an incremental backup whose index alternates between old and new frames: each frame is fetched once, and the tree is restored', async () => {
    const store = tenantStore(cluster);
    const key = newKey();
    const src = await scratch('grouping');
    await mkdir(join(src, 'data'));
    for (let i = 0; i < 400; i++) await writeFile(join(src, 'data', `f${String(i).padStart(3, '0')}`), randomBytes(2000));
    await backup(src, store, { backupName: 'full', lineage, key, tuning });
    // Every 8th file changes: the new index has a changed file (new frame) after every 7 unchanged ones (old frames).
    for (let i = 0; i < 400; i += 8) await appendFile(join(src, 'data', `f${String(i).padStart(3, '0')}`), 'changed');
    const inc = await backup(src, store, { backupName: 'inc', lineage, parent: 'full', key, tuning });
    expect(inc.filesRead).toBe(50);
    expect(inc.filesUnchanged).toBe(350);

    const { store: watched, gets } = counting(store);
    const dst = await scratch('grouping-restore');
    await restore(watched, 'inc', dst, { maxBytes: 1 << 30, key });
    const frameGets = [...gets].filter(([k]) => k.includes('/packs/'));
    // The tree spans about 16 old frames and 2 new ones; index order would have taken ~100 fetches.
    expect(frameGets.length).toBeGreaterThan(10);
    expect(frameGets.filter(([, n]) => n > 1)).toEqual([]);
    const want = await digestTree(src);
    const got = await digestTree(dst);
    want.delete('');
    got.delete('');
    expect(got).toEqual(want);
  });
});
