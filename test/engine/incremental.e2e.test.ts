// Incremental backups: unchanged files (size, mtime, ctime, inode) point at the parent's bytes and
// are not read; each backup restores exactly its own state, with Cairn and with standard tools.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { backup, restore } from '../../agent/src/engine/index.ts';
import { binary } from '../harness/components.ts';
import { digestTree, keys, lineage, newKey, scratch, tenantStore } from './helpers.ts';

const cluster = inject('cluster');
const repo = join(import.meta.dirname, '..', '..');

async function tree(): Promise<string> {
  const root = await scratch('inc');
  await mkdir(join(root, 'data/sub'), { recursive: true });
  for (let i = 0; i < 200; i++) await writeFile(join(root, 'data', `f${i}`), randomBytes(1000 + i));
  await writeFile(join(root, 'data/sub/big'), randomBytes(6 << 20));
  return root;
}

async function change(root: string): Promise<void> {
  await appendFile(join(root, 'data/f1'), 'changed');
  await writeFile(join(root, 'data/new'), 'new file');
  await rm(join(root, 'data/f2'));
  await utimes(join(root, 'data/f3'), new Date(), new Date('2020-01-01'));
}

describe('incremental backup', () => {
  for (const encrypted of [false, true]) {
    it(`reads only changed files and restores each backup's own state (${encrypted ? 'encrypted' : 'plain'})`, async () => {
      const store = tenantStore(cluster);
      const key = encrypted ? newKey() : undefined;
      const k = key ? { key } : {};
      const src = await tree();
      const before = await digestTree(src);
      const full = await backup(src, store, { backupName: 'full', lineage, ...k });
      expect(full.filesRead).toBe(201);

      await change(src);
      const after = await digestTree(src);
      const inc = await backup(src, store, { backupName: 'inc', lineage, parent: 'full', ...k });
      expect(inc.filesRead).toBe(3); // f1 (content), new, f3 (mtime)
      expect(inc.filesUnchanged).toBe(198);
      expect(inc.bytesRead).toBeLessThan(10_000);
      expect(inc.volume.storedBytes).toBeLessThan(full.volume.storedBytes / 20);
      expect(await keys(store, 'cairn/v1/leases/')).toEqual([]);

      for (const [name, want] of [['full', before], ['inc', after]] as const) {
        const dst = await scratch(`restore-${name}`);
        await restore(store, name, dst, { maxBytes: 1 << 30, ...k });
        const got = await digestTree(dst);
        got.delete('');
        const w = new Map(want);
        w.delete('');
        expect(got).toEqual(w);
      }
    });
  }

  it('an incremental backup restores with the documented standard-tools recipe', async () => {
    const prefix = `engine/recipe-${Date.now()}`;
    const store = tenantStore(cluster, 'team-a', prefix);
    const src = await tree();
    await backup(src, store, { backupName: 'full', lineage });
    await change(src);
    await backup(src, store, { backupName: 'inc', lineage, parent: 'full' });
    const mirror = await scratch('mirror');
    execFileSync(binary('mc'), ['--config-dir', cluster.minio.mcConfigDir, '--quiet', 'mirror', `cairn/team-a/${prefix}`, mirror]);
    const dst = await scratch('recipe');
    execFileSync('bash', [join(repo, 'docs/recovery/restore-with-tar.sh'), mirror, 'inc', 'data', dst], { stdio: 'pipe' });
    const want = await digestTree(src);
    const got = await digestTree(dst);
    want.delete('');
    got.delete('');
    expect(got).toEqual(want);
  });
});
