// Restoring a subset of paths reads only the frames those files are in (ranged GETs), and writes
// only them and the directories above them.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { backup, restore } from '../../agent/src/engine/index.ts';
import type { GetBufferOptions, ObjectStore } from '../../common/src/store/object-store.ts';
import { digestTree, lineage, newKey, scratch, tenantStore } from './helpers.ts';

const cluster = inject('cluster');

/** Records the byte ranges of every pack read. */
function recording(store: ObjectStore, reads: Array<{ key: string; bytes: number }>): ObjectStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'getObject') {
        return async (key: string, opts?: GetBufferOptions) => {
          const b = await target.getObject(key, opts);
          if (key.includes('/packs/')) reads.push({ key, bytes: b.length });
          return b;
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('restore of a subset of paths', () => {
  for (const encrypted of [false, true]) {
    it(`fetches only the frames of the chosen files (${encrypted ? 'encrypted' : 'plain'})`, async () => {
      const store = tenantStore(cluster);
      const key = encrypted ? newKey() : undefined;
      const src = await scratch('subset');
      for (const d of ['alpha', 'beta', 'gamma']) {
        await mkdir(join(src, d, 'deep'), { recursive: true });
        await writeFile(join(src, d, 'big.bin'), randomBytes(12 << 20)); // three frames each
        await writeFile(join(src, d, 'deep', 'small.txt'), `small file in ${d}`);
      }
      const b = await backup(src, store, { backupName: 'sub', lineage, ...(key ? { key } : {}) });
      const reads: Array<{ key: string; bytes: number }> = [];
      const dst = await scratch('subset-dst');
      const r = await restore(recording(store, reads), 'sub', dst, { maxBytes: 1 << 30, paths: ['beta'], ...(key ? { key } : {}) });
      expect(r.files).toBe(2);

      const fetched = reads.reduce((n, x) => n + x.bytes, 0);
      expect(fetched).toBeGreaterThan(12 << 20); // beta's data (random: incompressible)
      expect(fetched).toBeLessThan(b.volume.storedBytes / 2); // not alpha's or gamma's
      const got = await digestTree(dst);
      expect([...got.keys()].sort()).toEqual(['', 'beta', 'beta/big.bin', 'beta/deep', 'beta/deep/small.txt']);
      const want = await digestTree(src);
      for (const p of ['beta/big.bin', 'beta/deep/small.txt']) expect(got.get(p)).toEqual(want.get(p));
    });
  }
});
