// Hostile types and bits: device, FIFO and socket entries (a "file" whose mode says otherwise)
// are refused; setuid/setgid bits are stripped and counted (not refused); only user.* xattrs
// and POSIX ACLs are restored, never security.* or trusted.* (counted warnings). Benign twins:
// the same shapes with ordinary modes and user.* attributes restore exactly.
import { lstat, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAttribute, listAttributes, setAttribute } from 'fs-xattr';
import { describe, expect, inject, it } from 'vitest';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFREG, S_IFSOCK, forged, noise } from './archive-builder.ts';
import { hostileSuite } from './sandbox.ts';

const { run, refusedCleanly } = hostileSuite(inject('cluster'));
const data = noise(2048, 3);
const isRoot = process.getuid?.() === 0;

describe('device, FIFO and socket entries', () => {
  const specials = [['character device', 'S_IFCHR', S_IFCHR], ['block device', 'S_IFBLK', S_IFBLK], ['FIFO', 'S_IFIFO', S_IFIFO], ['socket', 'S_IFSOCK', S_IFSOCK]] as const;
  for (const [what, bits, fmt] of specials) {
    it(`refuses a ${what} (a "file" entry with ${bits} mode bits)`, async () => {
      const { run: r } = await refusedCleanly(forged().root().dir('dev').entry('dev/node', { type: 'file', mode: fmt | 0o666 }), 'CAIRN_E_HOSTILE_ARCHIVE', 'dev/node', 'devices, FIFOs and sockets');
      expect(await readdir(join(r.box.target, 'dev'))).toEqual([]);
    });
  }

  it('refuses a directory or symlink entry whose mode is a device', async () => {
    await refusedCleanly(forged().root().entry('d', { type: 'dir', mode: S_IFCHR | 0o755 }), 'CAIRN_E_HOSTILE_ARCHIVE', '"d"', 'devices');
    await refusedCleanly(forged().root().entry('l', { type: 'symlink', mode: S_IFIFO | 0o777, link: 'x' }), 'CAIRN_E_HOSTILE_ARCHIVE', '"l"', 'devices');
  });

  it('refuses an entry whose mode does not match its type (a "file" with directory bits)', async () => {
    await refusedCleanly(forged().root().entry('f', { type: 'file', mode: S_IFDIR | 0o755 }), 'CAIRN_E_HOSTILE_ARCHIVE', '"f"', 'does not match its type');
  });

  it('benign twin: a "file" entry with S_IFREG bits (empty and with data) is a regular file', async () => {
    const r = await run(forged().root().dir('dev').entry('dev/empty', { type: 'file', mode: S_IFREG | 0o666 }).file('dev/node', data, 0o666));
    expect(await r.restored).toMatchObject({ files: 2 });
    for (const n of ['empty', 'node']) {
      const st = await lstat(join(r.box.target, 'dev', n));
      expect(st.isFile()).toBe(true);
      expect(st.mode & 0o7777).toBe(0o666);
    }
    expect((await lstat(join(r.box.target, 'dev/node'))).size).toBe(data.length);
  });
});

describe('setuid and setgid bits', () => {
  it('strips them from files and directories, counts them and warns, and restores everything else', async () => {
    const r = await run(forged().root()
      .file('both', data, 0o6711)
      .file('sgid', data, 0o2755)
      .dir('shared', 0o2775)
      .file('suid', data, 0o4755, { uid: 1234, gid: 5678, nlink: 2 })
      .hardlink('suid-link', 'suid')
      .dir('tmp', 0o1777));
    const res = await r.restored;
    expect(res.setidStripped).toBe(4);
    expect(res.warnings.count('CAIRN_W_SETID_STRIPPED')).toBe(4);
    const mode = async (p: string): Promise<number> => (await lstat(join(r.box.target, p))).mode & 0o7777;
    expect(await mode('both')).toBe(0o711);
    expect(await mode('shared')).toBe(0o775);
    expect(await mode('sgid')).toBe(0o755);
    expect(await mode('suid')).toBe(0o755);
    expect(await mode('suid-link')).toBe(0o755);
    expect(await mode('tmp')).toBe(0o1777);
    if (isRoot) expect(await lstat(join(r.box.target, 'suid'))).toMatchObject({ uid: 1234, gid: 5678 });
  });

  it('benign twin: the same tree without set-id bits restores its modes exactly and warns about nothing', async () => {
    const r = await run(forged().root()
      .file('both', data, 0o711)
      .file('sgid', data, 0o755)
      .dir('shared', 0o775)
      .file('suid', data, 0o755, { uid: 1234, gid: 5678, nlink: 2 })
      .hardlink('suid-link', 'suid')
      .dir('tmp', 0o1777));
    const res = await r.restored;
    expect(res.setidStripped).toBe(0);
    expect(res.warnings.total).toBe(0);
    for (const [p, m] of [['both', 0o711], ['shared', 0o775], ['sgid', 0o755], ['suid', 0o755], ['tmp', 0o1777]] as const) {
      expect((await lstat(join(r.box.target, p))).mode & 0o7777).toBe(m);
    }
  });
});

/** A file capability (VFS_CAP_REVISION_2, effective) granting CAP_NET_RAW: a valid security.capability. */
const capNetRaw = (): Buffer => {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(0x02000001, 0);
  b.writeUInt32LE(1 << 13, 4);
  return b;
};

/** A POSIX access ACL: user::rw-, user:1234:r--, group::r--, mask::r--, other::---. */
const acl = (): Buffer => {
  const entries: Array<[number, number, number]> = [[0x01, 6, 0xffffffff], [0x02, 4, 1234], [0x04, 4, 0xffffffff], [0x10, 4, 0xffffffff], [0x20, 0, 0xffffffff]];
  const b = Buffer.alloc(4 + entries.length * 8);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    b.writeUInt16LE(tag, 4 + i * 8);
    b.writeUInt16LE(perm, 6 + i * 8);
    b.writeUInt32LE(id, 8 + i * 8);
  });
  return b;
};

describe('extended attributes', () => {
  it('never restores security.* or trusted.* (counted warnings), restores user.*', async () => {
    const r = await run(forged().root()
      .dir('d', 0o755, { xattrs: [['trusted.overlay.opaque', Buffer.from('y')], ['user.dir', Buffer.from('dir value')]] })
      .file('f', data, 0o755, {
        xattrs: [['security.capability', capNetRaw()], ['security.selinux', Buffer.from('system_u:object_r:shadow_t:s0\u0000')],
          ['trusted.cairn', Buffer.from('t')], ['user.bin', Buffer.from([0, 1, 2, 255])], ['user.note', Buffer.from('hello')]],
      }));
    // Control: this process could have set both (valid values, and tests run as root).
    const control = join(r.box.base, 'control');
    await writeFile(control, 'x');
    if (isRoot) {
      await setAttribute(control, 'security.capability', capNetRaw());
      await setAttribute(control, 'trusted.cairn', Buffer.from('t'));
    }
    const res = await r.restored;
    const f = join(r.box.target, 'f');
    const d = join(r.box.target, 'd');
    expect((await listAttributes(f)).sort()).toEqual(['user.bin', 'user.note']);
    expect(await getAttribute(f, 'user.bin')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await getAttribute(f, 'user.note')).toEqual(Buffer.from('hello'));
    expect((await listAttributes(d)).sort()).toEqual(['user.dir']);
    expect(await getAttribute(d, 'user.dir')).toEqual(Buffer.from('dir value'));
    expect(res.warnings.count('CAIRN_W_XATTR_SKIPPED')).toBe(4);
    const skipped = res.warnings.samples.filter((w) => w.code === 'CAIRN_W_XATTR_SKIPPED').map((w) => `${w.path.toString()} ${w.message.split(' ')[2]}`).sort();
    expect(skipped).toEqual(['d trusted.overlay.opaque', 'f security.capability', 'f security.selinux', 'f trusted.cairn']);
    expect(await readdir(join(r.box.target))).toEqual(expect.arrayContaining(['d', 'f']));
  });

  it('benign twin: user.* attributes and a POSIX ACL on the same shapes restore without warnings', async () => {
    const r = await run(forged().root()
      .dir('d', 0o755, { xattrs: [['user.dir', Buffer.from('dir value')]] })
      .file('f', data, 0o640, { xattrs: [['system.posix_acl_access', acl()], ['user.bin', Buffer.from([0, 1, 2, 255])], ['user.note', Buffer.from('hello')]] }));
    const res = await r.restored;
    expect(res.warnings.total).toBe(0);
    const f = join(r.box.target, 'f');
    expect((await listAttributes(f)).sort()).toEqual(['system.posix_acl_access', 'user.bin', 'user.note']);
    expect(await getAttribute(f, 'system.posix_acl_access')).toEqual(acl());
    expect(await getAttribute(f, 'user.note')).toEqual(Buffer.from('hello'));
    expect((await lstat(f)).mode & 0o7777).toBe(0o640);
    expect(await getAttribute(join(r.box.target, 'd'), 'user.dir')).toEqual(Buffer.from('dir value'));
  });
});
