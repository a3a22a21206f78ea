// Regression for a finding of the restore fuzzer (test/fuzz/): user.* and POSIX ACL attributes
// that no file system takes ("user." alone, a name over 255 bytes, a value over 64 KiB, an ACL
// that is not one) reached setxattr, whose errno left the restore as a plain Error (the job
// reported CAIRN_E_INTERNAL), and a name with a NUL was cut there and set as another attribute
// ("user.a\0b" became "user.a"). Now they are skipped with a counted warning, like security.*
// ones, and the file is restored; an attribute the target's file system has no room for (ext4
// keeps a file's attributes in one block) fails with CAIRN_E_LIMIT_EXCEEDED naming the entry.
// Benign twin: valid attributes restore without warnings.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAttribute, listAttributes } from 'fs-xattr';
import { describe, expect, inject, it } from 'vitest';
import { CairnError } from '../../../common/src/errors.ts';
import { forged, noise } from './archive-builder.ts';
import { hostileSuite } from './sandbox.ts';

const { run } = hostileSuite(inject('cluster'));
const data = noise(1500, 8);

describe('extended attributes no file system takes', () => {
  it('skips them with counted warnings and restores the file with its valid attributes', async () => {
    const r = await run(forged().root().file('f', data, 0o644, {
      xattrs: [['user.', Buffer.from('a')], [`user.${'n'.repeat(260)}`, Buffer.from('a')], ['user.a\u0000b', Buffer.from('z')],
        ['user.big', Buffer.alloc(70_000, 1)], ['system.posix_acl_access', Buffer.from('junk')], ['user.ok', Buffer.from('fine')]],
    }));
    const res = await r.restored;
    const f = join(r.box.target, 'f');
    expect(await readFile(f)).toEqual(data);
    expect(await listAttributes(f)).toEqual(['user.ok']);
    expect(await getAttribute(f, 'user.ok')).toEqual(Buffer.from('fine'));
    expect(res.warnings.count('CAIRN_W_XATTR_SKIPPED')).toBe(5);
    const why = res.warnings.samples.map((w) => w.message.replace(/^extended attribute ".*" /, '')).sort();
    expect(why).toEqual(['has a value of 70000 bytes, more than any file system takes (64 KiB)', 'is not a POSIX ACL', 'is not a valid attribute name', 'is not a valid attribute name', 'is not a valid attribute name']);
  });

  it('an attribute the target has no room for fails CAIRN_E_LIMIT_EXCEEDED naming the entry (or restores where there is room)', async () => {
    const r = await run(forged().root().dir('d').file('d/g', data, 0o644, { xattrs: [['user.one', Buffer.alloc(30_000, 1)], ['user.two', Buffer.alloc(30_000, 2)], ['user.three', Buffer.alloc(30_000, 3)]] }));
    const outcome = await r.restored.then(() => 'restored', (err: unknown) => err);
    if (outcome === 'restored') {
      // XFS and tmpfs take 90 KB of attributes on a file.
      expect((await listAttributes(join(r.box.target, 'd/g'))).sort()).toEqual(['user.one', 'user.three', 'user.two']);
    } else {
      expect(outcome).toBeInstanceOf(CairnError);
      expect(outcome).toMatchObject({ code: 'CAIRN_E_LIMIT_EXCEEDED', message: expect.stringContaining('"d/g"') as unknown });
      expect((outcome as CairnError).message).toMatch(/refuses extended attribute "user\.(one|two|three)" of 30000 bytes \((ENOSPC|E2BIG)\)/);
    }
  });

  it('benign twin: valid user.* attributes restore without warnings', async () => {
    const r = await run(forged().root().file('f', data, 0o644, { xattrs: [['user.a', Buffer.from('1')], [`user.${'n'.repeat(245)}`, Buffer.from('2')], ['user.v', Buffer.alloc(1000, 7)]] }));
    const res = await r.restored;
    expect(res.warnings.total).toBe(0);
    expect((await listAttributes(join(r.box.target, 'f'))).sort()).toEqual(['user.a', `user.${'n'.repeat(245)}`, 'user.v']);
  });
});
