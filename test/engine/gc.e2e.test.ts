// Garbage collection: unreferenced packs go, referenced ones stay, young ones are spared, two
// collections never run at once, and a collection during a backup loses nothing.
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { backup, collectGarbage, restore } from '../../agent/src/engine/index.ts';
import type { ObjectStore } from '../../common/src/store/object-store.ts';
import { indexKey, manifestKey } from '../../common/src/format/layout.ts';
import { digestTree, keys, lineage, scratch, tenantStore } from './helpers.ts';

const cluster = inject('cluster');
const smallPacks = { packBytes: 1 << 20 };

async function twoPackTree(): Promise<string> {
  const root = await scratch('gc');
  await writeFile(join(root, 'a-first'), randomBytes(2 << 20)); // its own pack
  await writeFile(join(root, 'b-second'), randomBytes(2 << 20)); // another pack
  return root;
}

async function packKeys(store: ObjectStore): Promise<string[]> {
  return keys(store, 'cairn/v1/packs/');
}

async function deleteBackup(store: ObjectStore, name: string): Promise<void> {
  await store.deleteObject(manifestKey(name));
  await store.deleteObject(indexKey(name, 'data'));
}

async function restoresIdentical(store: ObjectStore, name: string, src: Map<string, unknown>): Promise<void> {
  const dst = await scratch('gc-restore');
  await restore(store, name, dst, { maxBytes: 1 << 30 });
  const got = await digestTree(dst);
  got.delete('');
  const want = new Map(src);
  want.delete('');
  expect(got).toEqual(want);
}

/** A store whose pack uploads wait for `gate` (the backup stalls mid-way, as a slow one would). */
function gatedPacks(store: ObjectStore, gate: Promise<void>): ObjectStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'upload') {
        return async (key: string, ...rest: Parameters<ObjectStore['upload']> extends [string, ...infer R] ? R : never) => {
          if (key.includes('/packs/')) await gate;
          return target.upload(key, ...rest);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      // The store keeps private fields: call its methods on itself, not on the proxy.
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('garbage collection', () => {
  it('deletes packs no index references and keeps shared ones', async () => {
    const store = tenantStore(cluster);
    const src = await twoPackTree();
    const b1 = await backup(src, store, { backupName: 'b1', lineage, tuning: smallPacks });
    expect(b1.volume.packs.length).toBe(2);
    await rm(join(src, 'a-first'));
    const b2 = await backup(src, store, { backupName: 'b2', lineage, parent: 'b1', tuning: smallPacks });
    const srcState = await digestTree(src);
    await deleteBackup(store, 'b1');

    const spared = await collectGarbage(store);
    expect(spared.deleted).toEqual([]);
    expect(spared.sparedYoung).toBe(1);

    const gc = await collectGarbage(store, { graceMs: 0 });
    expect(gc.deleted).toHaveLength(1);
    const left = await packKeys(store);
    for (const p of b2.volume.packs) expect(left.some((k) => k.endsWith(`${p}.pack`))).toBe(true);
    expect(left).toHaveLength(b2.volume.packs.length);
    await restoresIdentical(store, 'b2', srcState);
  });

  it('refuses a second collection while one runs', async () => {
    const store = tenantStore(cluster);
    const src = await twoPackTree();
    await backup(src, store, { backupName: 'b1', lineage, tuning: smallPacks });
    await deleteBackup(store, 'b1');
    let release!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atPause = new Promise<void>((r) => (reached = r));
    const first = collectGarbage(store, { graceMs: 0, beforeDelete: async () => { reached(); await paused; } });
    await atPause;
    await expect(collectGarbage(store, { graceMs: 0 })).rejects.toMatchObject({ code: 'CAIRN_E_LOCKED' });
    release();
    expect((await first).deleted).toHaveLength(2);
    expect(await keys(store, 'cairn/v1/locks/')).toEqual([]);
  });

  it('a collection during an incremental backup keeps the packs it reuses, even after its parent is deleted', async () => {
    const store = tenantStore(cluster);
    const src = await twoPackTree();
    await backup(src, store, { backupName: 'b1', lineage, tuning: smallPacks });
    await writeFile(join(src, 'c-new'), 'new');
    const state = await digestTree(src);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const running = backup(src, gatedPacks(store, gate), { backupName: 'b2', lineage, parent: 'b1', tuning: smallPacks });
    // Wait until the backup holds its lease on b1's packs, then delete b1 and collect as if
    // every pack were old: only the lease keeps b1's packs.
    for (let i = 0; i < 100 && (await keys(store, 'cairn/v1/leases/')).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await keys(store, 'cairn/v1/leases/')).toHaveLength(1);
    await deleteBackup(store, 'b1');
    const gc = await collectGarbage(store, { graceMs: 0 });
    expect(gc.deleted).toEqual([]);
    open();
    await running;
    await restoresIdentical(store, 'b2', state);
  });
});
