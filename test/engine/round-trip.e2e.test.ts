// Backup and restore of a real directory tree through real MinIO: everything the format keeps
// comes back byte-identical, with ownership, modes, times, links and user xattrs.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, link, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { backup, restore, type Progress } from '../../agent/src/engine/index.ts';
import { digestTree, lineage, multipartUploads, newKey, scratch, tenantStore } from './helpers.ts';

const cluster = inject('cluster');
const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { setAttributeSync(p: string, n: string, v: Buffer): void; getAttributeSync(p: string, n: string): Buffer; listAttributesSync(p: string): string[] };

/** A tree with every kind of entry the format keeps and a few it must not. */
async function sampleTree(): Promise<string> {
  const root = await scratch('src');
  await mkdir(join(root, 'docs/deep/deeper'), { recursive: true });
  await writeFile(join(root, 'docs/readme.txt'), 'hello\n'.repeat(1000));
  await writeFile(join(root, 'docs/deep/deeper/random.bin'), randomBytes(10 << 20)); // spans frames
  await writeFile(join(root, 'empty'), '');
  await writeFile(join(root, 'a.b'), 'sorts after a/ in raw-byte order');
  await mkdir(join(root, 'a'));
  await writeFile(join(root, 'a/inner'), 'x');
  for (let i = 0; i < 300; i++) await writeFile(join(root, 'docs', `small-${i}`), randomBytes(i * 7));
  await symlink('docs/readme.txt', join(root, 'link-to-readme'));
  await symlink('../nowhere', join(root, 'docs/dangling'));
  await link(join(root, 'docs/readme.txt'), join(root, 'hardlink-to-readme'));
  await writeFile(Buffer.from(`${root}/latin1-\xe9-name`, 'latin1'), 'not UTF-8');
  await chmod(join(root, 'a.b'), 0o640);
  await chown(join(root, 'a/inner'), 1234, 5678);
  await utimes(join(root, 'empty'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
  xattr.setAttributeSync(join(root, 'docs/readme.txt'), 'user.note', Buffer.from([0, 1, 2, 255]));
  execFileSync('mkfifo', [join(root, 'a-fifo')]);
  return root;
}

describe('engine round trip', () => {
  for (const encrypted of [false, true]) {
    it(`restores a tree byte-identical with metadata (${encrypted ? 'encrypted' : 'plain'})`, async () => {
      const store = tenantStore(cluster);
      const src = await sampleTree();
      const key = encrypted ? newKey() : undefined;
      const events: Progress[] = [];
      const b = await backup(src, store, { backupName: 'b1', lineage, ...(key ? { key } : {}), onProgress: (p) => events.push(p) });
      expect(b.warnings.count('CAIRN_W_SPECIAL_FILE_SKIPPED')).toBe(1);
      expect(b.volume.files).toBe(307);
      expect(events.at(-1)).toMatchObject({ filesDone: 307, totalFiles: 307, totalKnown: true });
      expect(await multipartUploads(store)).toEqual([]);

      const dst = await scratch('dst');
      const r = await restore(store, 'b1', dst, { maxBytes: 1 << 30, ...(key ? { key } : {}) });
      expect(r.files).toBe(306);
      expect(r.hardlinks).toBe(1);
      const want = await digestTree(src, { mtimes: true, xattrs: true });
      want.delete('a-fifo');
      const got = await digestTree(dst, { mtimes: true, xattrs: true });
      // The root directory is the target itself; its metadata is applied too.
      expect(got).toEqual(want);
    });
  }

  it('reports progress at least once a second and ends with the totals', async () => {
    const store = tenantStore(cluster);
    const src = await scratch('progress');
    for (let i = 0; i < 20; i++) await writeFile(join(src, `f${i}`), randomBytes(4 << 20));
    const stamps: number[] = [];
    const started = Date.now();
    await backup(src, store, { backupName: 'p1', lineage, onProgress: () => stamps.push(Date.now()) });
    const points = [started, ...stamps];
    const gaps = points.slice(1).map((t, i) => t - points[i]!);
    expect(Math.max(...gaps)).toBeLessThan(1_000);
  });
});

describe('recovery with standard tools', () => {
  it('a full unencrypted backup restores with zstd -dc | tar -x', async () => {
    const store = tenantStore(cluster);
    const src = await sampleTree();
    const b = await backup(src, store, { backupName: 'plain', lineage });
    const dst = await scratch('tar');
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const { s3As } = await import('../harness/clients.ts');
    for (const pack of b.volume.packs) {
      const res = await s3As(cluster, 'team-a').send(new GetObjectCommand({ Bucket: 'team-a', Key: `${store.prefix}/cairn/v1/packs/${b.volume.lineage}/${pack}.pack` }));
      const bytes = Buffer.from(await res.Body!.transformToByteArray());
      execFileSync('bash', ['-c', `zstd -dc | tar -x --xattrs --xattrs-include='user.*' --numeric-owner -C ${dst}`], { input: bytes });
    }
    const want = await digestTree(src, { xattrs: true });
    want.delete('a-fifo');
    want.delete('');
    const got = await digestTree(dst, { xattrs: true });
    got.delete('');
    expect(got).toEqual(want);
  });
});
