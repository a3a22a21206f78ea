// A restore never follows what is already in the target: a symlink where the archive has a
// directory, a file, a symlink or a hardlink is replaced (never written through), and a file
// hardlinked to something outside is replaced, not rewritten in place. The canary beside the
// target stays as it was and nothing appears beside it. Benign twin: the same archive restored
// into an empty target gives the same tree.
import { link, lstat, mkdir, readFile, readlink, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { forged, noise } from './archive-builder.ts';
import { CANARY, hostileSuite, namesIn, treeState, type Sandbox } from './sandbox.ts';

const { run } = hostileSuite(inject('cluster'));
const data = noise(6000, 41);

const archive = (): ReturnType<typeof forged> => forged().root()
  .dir('a').file('a/x', data, 0o600)
  .file('f', data, 0o640)
  .file('g', data, 0o644)
  .file('k', data, 0o644, { nlink: 2 }).hardlink('m', 'k')
  .dir('p').dir('p/q').file('p/q/x', data)
  .symlink('s', 'a/x');

/** The target already holds links leading out of it, at every name the archive uses. */
async function trap(box: Sandbox): Promise<void> {
  await symlink(box.outside, join(box.target, 'a'));
  await symlink(box.canary, join(box.target, 'f'));
  await link(box.canary, join(box.target, 'g'));
  await symlink(box.canary, join(box.target, 'm'));
  await symlink(box.outside, join(box.target, 's'));
  await mkdir(join(box.target, 'p'));
  await symlink(box.outside, join(box.target, 'p/q'));
}

async function expectRestored(target: string): Promise<void> {
  expect((await lstat(join(target, 'a'))).isDirectory()).toBe(true);
  expect(await readFile(join(target, 'a/x'))).toEqual(data);
  for (const n of ['f', 'g', 'k', 'm']) {
    const st = await lstat(join(target, n));
    expect(st.isFile()).toBe(true);
    expect(await readFile(join(target, n))).toEqual(data);
  }
  expect((await lstat(join(target, 'm'))).ino).toBe((await lstat(join(target, 'k'))).ino);
  expect(await readlink(join(target, 's'))).toBe('a/x');
  expect((await lstat(join(target, 'p/q'))).isDirectory()).toBe(true);
  expect(await readFile(join(target, 'p/q/x'))).toEqual(data);
}

describe('links already in the target', () => {
  it('are replaced, never followed: nothing is written beside the target', async () => {
    const r = await run(archive(), { before: trap });
    const res = await r.restored;
    expect(res).toMatchObject({ dirs: 4, files: 5, symlinks: 1, hardlinks: 1 });
    expect(await namesIn(r.box.outside)).toEqual(['canary']);
    expect(await readFile(r.box.canary, 'utf8')).toBe(CANARY);
    const canary = await stat(r.box.canary);
    expect(canary.nlink).toBe(1);
    expect(canary.mode & 0o7777).toBe(0o644);
    await expectRestored(r.box.target);
  });

  it('benign twin: the same archive into an empty target gives the same tree', async () => {
    const trapped = await run(archive(), { before: trap });
    await trapped.restored;
    const clean = await run(archive());
    await clean.restored;
    await expectRestored(clean.box.target);
    expect(await treeState(trapped.box.target)).toEqual(await treeState(clean.box.target));
  });
});
