// Hostile links: an entry written through a symlink, symlink targets that leave the volume, and
// hardlinks to anything but a regular file this restore created. Refusals name the entry and
// leave everything outside the target as it was; the benign twins (a symlink into the volume
// restored as a link and never followed, a hardlink to an earlier file) restore exactly.
import { lstat, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { forged, noise } from './archive-builder.ts';
import { hostileSuite, namesIn, refused } from './sandbox.ts';

const { run, refusedCleanly } = hostileSuite(inject('cluster'));
const data = noise(5000, 11);

describe('symlinks', () => {
  it('refuses an entry written through a symlink of the archive (d, l -> d, l/x)', async () => {
    const { run: r } = await refusedCleanly(forged().root().dir('d').symlink('l', 'd').file('l/x', data), 'CAIRN_E_HOSTILE_ARCHIVE', 'l/x', 'parent');
    expect(await readdir(join(r.box.target, 'd'))).toEqual([]);
  });

  it('refuses an absolute symlink followed by an entry through it (l -> outside, l/x)', async () => {
    const { run: r } = await refusedCleanly((box) => forged().root().symlink('l', box.outside).file('l/x', data), 'CAIRN_E_HOSTILE_ARCHIVE', '"l"', 'leaves the volume');
    expect(await namesIn(r.box.outside)).toEqual(['canary']);
  });

  it('refuses l -> .. followed by l/x', async () => {
    const { run: r } = await refusedCleanly(forged().root().symlink('l', '..').file('l/x', data), 'CAIRN_E_HOSTILE_ARCHIVE', '"l"', 'leaves the volume');
    expect(await namesIn(r.box.base)).toEqual(['outside', 'target']);
  });

  it('benign twin: d, d/x, l -> d restores l as a link to d (nothing written through it)', async () => {
    const r = await run(forged().root().dir('d').file('d/x', data).symlink('l', 'd'));
    const res = await r.restored;
    expect(res).toMatchObject({ dirs: 2, files: 1, symlinks: 1 });
    expect((await lstat(join(r.box.target, 'l'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(r.box.target, 'l'))).toBe('d');
    expect(await readFile(join(r.box.target, 'd/x'))).toEqual(data);
  });

  it('refuses an absolute symlink target', async () => {
    await refusedCleanly((box) => forged().root().dir('a').symlink('a/l', join(box.outside, 'canary')), 'CAIRN_E_HOSTILE_ARCHIVE', 'a/l', 'leaves the volume');
  });

  it('refuses a relative symlink target that climbs out (a/l -> ../../x)', async () => {
    await refusedCleanly(forged().root().dir('a').symlink('a/l', '../../outside/canary'), 'CAIRN_E_HOSTILE_ARCHIVE', 'a/l', 'leaves the volume');
  });

  it('refuses a symlink target that climbs out after descending (a/l -> ../b/../../x)', async () => {
    await refusedCleanly(forged().root().dir('a').symlink('a/l', '../b/../../x').dir('b'), 'CAIRN_E_HOSTILE_ARCHIVE', 'a/l', 'leaves the volume');
  });

  it('refuses an empty symlink target and one with a NUL byte', async () => {
    await refusedCleanly(forged().root().symlink('l', Buffer.alloc(0)), 'CAIRN_E_HOSTILE_ARCHIVE', '"l"');
    await refusedCleanly(forged().root().symlink('l', Buffer.from('a\u0000b')), 'CAIRN_E_HOSTILE_ARCHIVE', '"l"');
  });

  it('benign twin: relative links inside the volume (a/link -> ../b, a/up -> .., a/dangling -> gone) restore as links, never followed', async () => {
    const r = await run(forged().root().dir('a').symlink('a/dangling', 'gone').symlink('a/link', '../b').symlink('a/up', '..').file('b', data, 0o600));
    const res = await r.restored;
    expect(res).toMatchObject({ symlinks: 3, files: 1 });
    for (const [name, target] of [['dangling', 'gone'], ['link', '../b'], ['up', '..']] as const) {
      const p = join(r.box.target, 'a', name);
      expect((await lstat(p)).isSymbolicLink()).toBe(true);
      expect(await readlink(p)).toBe(target);
    }
    // The link's own metadata, not its target's, was applied (its target is a 0600 file).
    expect((await stat(join(r.box.target, 'b'))).mode & 0o7777).toBe(0o600);
    expect(await readFile(join(r.box.target, 'b'))).toEqual(data);
  });
});

describe('hardlinks', () => {
  it('refuses a hardlink to /etc/passwd', async () => {
    const nlink = (await stat('/etc/passwd')).nlink;
    await refusedCleanly(forged().root().hardlink('h', '/etc/passwd'), 'CAIRN_E_HOSTILE_ARCHIVE', '"h"', 'absolute');
    expect((await stat('/etc/passwd')).nlink).toBe(nlink);
  });

  it('refuses a hardlink that climbs to the canary beside the target', async () => {
    const { run: r } = await refusedCleanly(forged().root().dir('a').hardlink('a/h', 'a/../../outside/canary'), 'CAIRN_E_HOSTILE_ARCHIVE', 'a/h');
    expect((await stat(r.box.canary)).nlink).toBe(1);
  });

  it('refuses a hardlink to a symlink created earlier', async () => {
    await refusedCleanly(forged().root().dir('a').file('a/x', data, 0o644, { nlink: 2 }).symlink('a/y', 'x').hardlink('b', 'a/y'), 'CAIRN_E_HOSTILE_ARCHIVE', '"b"', 'a/y');
  });

  it('refuses a hardlink to a directory', async () => {
    await refusedCleanly(forged().root().dir('a').hardlink('b', 'a'), 'CAIRN_E_HOSTILE_ARCHIVE', '"b"', 'not a regular file this restore created');
  });

  it('refuses a hardlink to a file that comes later in the index', async () => {
    await refusedCleanly(forged().root().hardlink('a', 'b').file('b', data, 0o644, { nlink: 2 }), 'CAIRN_E_HOSTILE_ARCHIVE', '"a"', '"b"');
  });

  it('refuses a hardlink to a file that was in the target before the restore', async () => {
    const r = await run(forged().root().hardlink('h', 'pre'), { before: (box) => writeFile(join(box.target, 'pre'), 'not restored') });
    await refused(r.restored, 'CAIRN_E_HOSTILE_ARCHIVE', '"h"', '"pre"');
    expect((await stat(join(r.box.target, 'pre'))).nlink).toBe(1);
    expect(await namesIn(r.box.target)).toEqual(['pre']);
  });

  it('benign twin: a hardlink to an earlier regular file with two links is the same inode', async () => {
    const r = await run(forged().root().dir('a').file('a/x', data, 0o640, { nlink: 2 }).hardlink('h', 'a/x'));
    const res = await r.restored;
    expect(res).toMatchObject({ files: 1, hardlinks: 1 });
    const x = await lstat(join(r.box.target, 'a/x'));
    const h = await lstat(join(r.box.target, 'h'));
    expect(h.ino).toBe(x.ino);
    expect(x.nlink).toBe(2);
    expect(x.mode & 0o7777).toBe(0o640);
    expect(await readFile(join(r.box.target, 'h'))).toEqual(data);
  });
});
