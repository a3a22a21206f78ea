// Hostile names in the index: absolute paths, "." and ".." components, empty components, NUL,
// over-long components and paths. Each is refused with CAIRN_E_HOSTILE_ARCHIVE naming the entry
// and nothing is written outside the target; beside each, a benign twin of the same shape (odd
// but legal names: dot files, "..x", non-UTF-8 bytes, 255-byte names, a path near the limit)
// restores byte for byte.
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { forged, noise } from './archive-builder.ts';
import { hostileSuite, namesIn, type Archive, type Sandbox } from './sandbox.ts';

const { run, refusedCleanly } = hostileSuite(inject('cluster'));

const data = noise(3000, 7);

async function expectRefusedCleanly(b: Archive, ...mention: string[]): Promise<{ err: Error; box: Sandbox }> {
  const { err, run: r } = await refusedCleanly(b, 'CAIRN_E_HOSTILE_ARCHIVE', ...mention);
  return { err, box: r.box };
}

describe('hostile paths', () => {
  it('refuses an absolute path (one that points at the directory beside the target)', async () => {
    const { err, box } = await expectRefusedCleanly((b) => forged().root().file(join(b.outside, 'x'), data), 'absolute');
    expect(err.message).toContain(join(box.outside, 'x'));
    expect(await namesIn(box.outside)).toEqual(['canary']);
    expect(await readdir(box.target)).toEqual([]);
  });

  it('benign twin: the same file at a relative path restores', async () => {
    const r = await run(forged().root().dir('etc').file('etc/x', data, 0o640));
    await r.restored;
    expect(await readFile(join(r.box.target, 'etc/x'))).toEqual(data);
    expect((await lstat(join(r.box.target, 'etc/x'))).mode & 0o7777).toBe(0o640);
  });

  it('refuses a ".." component (a/../../x)', async () => {
    const { box } = await expectRefusedCleanly(forged().root().dir('a').file('a/../../x', data), 'a/../../x');
    expect(await namesIn(box.base)).toEqual(['outside', 'target']);
  });

  it('refuses a ".." component even as the last one (a/..)', async () => {
    await expectRefusedCleanly(forged().root().dir('a').dir('a/..'), 'a/..');
  });

  it('refuses a "." component (a/./x)', async () => {
    await expectRefusedCleanly(forged().root().dir('a').file('a/./x', data), 'a/./x');
  });

  it('refuses an empty component (a//x)', async () => {
    await expectRefusedCleanly(forged().root().dir('a').file('a//x', data), 'a//x');
  });

  it('benign twin: names that merely start with dots (.x, ..x, ...) restore', async () => {
    const r = await run(forged().root().dir('a').file('a/...', data).file('a/..x', data).file('a/.x', data));
    await r.restored;
    expect(await namesIn(join(r.box.target, 'a'))).toEqual(['...', '..x', '.x']);
    for (const n of ['...', '..x', '.x']) expect(await readFile(join(r.box.target, 'a', n))).toEqual(data);
  });

  it('refuses a NUL byte in a name', async () => {
    const { box } = await expectRefusedCleanly(forged().root().dir('a').file(Buffer.from('a/x\u0000y'), data), 'NUL');
    expect(await readdir(join(box.target, 'a'))).toEqual([]);
  });

  it('benign twin: control and non-UTF-8 bytes in a name restore as the same bytes', async () => {
    const name = Buffer.from([0x61, 0x2f, 0x78, 0x01, 0xff, 0xfe, 0x79]); // "a/x\x01\xff\xfey"
    const r = await run(forged().root().dir('a').file(name, data));
    await r.restored;
    const names = await readdir(Buffer.from(join(r.box.target, 'a')), { encoding: 'buffer' });
    expect(names).toEqual([name.subarray(2)]);
    expect(await readFile(Buffer.concat([Buffer.from(`${r.box.target}/`), name]))).toEqual(data);
  });

  it('refuses a name component longer than 255 bytes', async () => {
    await expectRefusedCleanly(forged().root().dir('a').file(`a/${'n'.repeat(256)}`, data), `a/${'n'.repeat(100)}`);
  });

  it('benign twin: a 255-byte name restores', async () => {
    const name = 'n'.repeat(255);
    const r = await run(forged().root().dir('a').file(`a/${name}`, data));
    await r.restored;
    expect(await readFile(join(r.box.target, 'a', name))).toEqual(data);
  });

  it('refuses a path longer than 4095 bytes (every component legal)', async () => {
    // 17 directories of 240 bytes: 17 * 241 = 4097 bytes before the file's name.
    const dirs = Array.from({ length: 17 }, (_, i) => String.fromCharCode(0x61 + i).repeat(240));
    const b = forged().root();
    for (let i = 1; i <= dirs.length; i++) b.dir(dirs.slice(0, i).join('/'));
    b.file(`${dirs.join('/')}/x`, data);
    await expectRefusedCleanly(b, 'longer than 4095');
  });

  it('benign twin: a deep path of about 3800 bytes restores', async () => {
    const dirs = Array.from({ length: 15 }, (_, i) => String.fromCharCode(0x61 + i).repeat(240));
    const b = forged().root();
    for (let i = 1; i <= dirs.length; i++) b.dir(dirs.slice(0, i).join('/'));
    const path = `${dirs.join('/')}/x`;
    b.file(path, data);
    const r = await run(b);
    const res = await r.restored;
    expect(res.dirs).toBe(16);
    expect(await readFile(join(r.box.target, path))).toEqual(data);
  });
});
