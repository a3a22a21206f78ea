// A restore onto a file system without extended attributes (ramfs here; also vfat, some network
// file systems) restores everything else and reports each attribute it could not set as a
// counted warning, for every kind of entry that carries them: a directory, an empty file, a
// small file (written by a worker), a file spread over frames (finished by the main thread).
// Before, the first attribute failed the whole restore. Twin: the same backup restored onto a
// file system with attributes sets them all, without warnings.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { backup, restore } from '../../agent/src/engine/index.ts';
import { digestTree, scratch, tenantStore } from './helpers.ts';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { setAttributeSync(p: string, n: string, v: Buffer): void; listAttributesSync(p: string): string[] };
const cluster = inject('cluster');
const mounts: string[] = [];

afterAll(() => {
  for (const m of mounts) execFileSync('umount', [m]);
});

async function source(): Promise<string> {
  const src = await scratch('xattr-src');
  await mkdir(join(src, 'd'));
  await writeFile(join(src, 'd', 'empty'), '');
  await writeFile(join(src, 'd', 'small'), 'small file');
  // Larger than a frame (4 MiB): its data spans frames.
  await writeFile(join(src, 'large'), Buffer.alloc(9 << 20, 7));
  for (const p of ['d', 'd/empty', 'd/small', 'large']) xattr.setAttributeSync(join(src, p), 'user.tag', Buffer.from(`tag of ${p}`));
  return src;
}

describe('restore onto a file system without extended attributes', () => {
  it('restores every file and reports each attribute it could not set as a warning', async () => {
    const store = tenantStore(cluster);
    const src = await source();
    await backup(src, store, { backupName: 'b1', lineage: { clusterUid: 'c', pvcUid: 'xattr-unsupported' } });
    const target = await scratch('xattr-ramfs');
    execFileSync('mount', ['-t', 'ramfs', 'ramfs', target]);
    mounts.push(target);
    const r = await restore(store, 'b1', target, { maxBytes: 1 << 30 });
    expect(await digestTree(target)).toEqual(await digestTree(src));
    expect(await readFile(join(target, 'd', 'small'), 'utf8')).toBe('small file');
    expect(r.warnings.count('CAIRN_W_XATTR_SKIPPED')).toBe(4);
    expect(r.warnings.samples.map((w) => w.path.toString()).sort()).toEqual(['d', 'd/empty', 'd/small', 'large']);
    expect(r.warnings.samples[0]!.message).toContain('does not support it');
    store.close();
  });

  it('twin: onto a file system with attributes they are all set, without warnings', async () => {
    const store = tenantStore(cluster);
    const src = await source();
    await backup(src, store, { backupName: 'b1', lineage: { clusterUid: 'c', pvcUid: 'xattr-supported' } });
    const target = await scratch('xattr-dst');
    const r = await restore(store, 'b1', target, { maxBytes: 1 << 30 });
    expect(r.warnings.total).toBe(0);
    expect(await digestTree(target, { xattrs: true })).toEqual(await digestTree(src, { xattrs: true }));
    expect(xattr.listAttributesSync(join(target, 'large'))).toEqual(['user.tag']);
    store.close();
  });
});
