// Writing into the restore target without ever following a link that is there: files are
// created with O_CREAT|O_EXCL|O_NOFOLLOW (an existing non-directory is unlinked first, never
// opened), every descriptor is checked to lead under the target and to be on its file system,
// and metadata is applied through descriptors (xattrs through /proc/self/fd).
import { constants as C } from 'node:fs';
import { lchown, link, lstat, lutimes, mkdir, open, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { CairnError } from '../../../common/src/errors.ts';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import { descriptorUnder, fdPath, type WalkRoot } from './walk.ts';
import { shown } from './restore-guard.ts';
import type { Warnings } from './warnings.ts';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { setAttribute(path: string, name: string, value: Buffer): Promise<void> };

const isRoot = process.getuid?.() === 0;

export function restorableXattr(name: string): boolean {
  return name.startsWith('user.') || name === 'system.posix_acl_access' || name === 'system.posix_acl_default';
}

function escape(path: Buffer, why: string): never {
  throw new CairnError('CAIRN_E_HOSTILE_ARCHIVE', `refusing to write ${shown(path)}: ${why}`);
}

export class RestoreTarget {
  readonly root: WalkRoot;
  private readonly warnings: Warnings;

  constructor(root: WalkRoot, warnings: Warnings) {
    this.root = root;
    this.warnings = warnings;
  }

  abs(path: Buffer): Buffer {
    return path.length === 0 ? this.root.abs : Buffer.concat([this.root.abs, Buffer.from('/'), path]);
  }

  private async verify(fh: FileHandle, path: Buffer, dir: boolean): Promise<void> {
    const st = await fh.stat({ bigint: true });
    if ((dir ? !st.isDirectory() : !st.isFile()) || st.dev !== this.root.dev || !(await descriptorUnder(fh.fd, this.root))) {
      escape(path, 'the opened object is not where it must be (raced or redirected)');
    }
  }

  /** Removes an existing non-directory at `abs` (a symlink is removed, never followed). */
  private async clear(abs: Buffer, path: Buffer): Promise<void> {
    const st = await lstat(abs).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) escape(path, 'a directory is in the way');
    await unlink(abs);
  }

  async mkdir(path: Buffer): Promise<void> {
    if (path.length === 0) return;
    const abs = this.abs(path);
    try {
      await mkdir(abs, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await lstat(abs);
      if (!st.isDirectory()) {
        await this.clear(abs, path);
        await mkdir(abs, { mode: 0o700 });
      }
    }
  }

  /** Creates a new regular file and returns its verified handle. */
  async createFile(path: Buffer): Promise<FileHandle> {
    const abs = this.abs(path);
    const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
    let fh: FileHandle;
    try {
      fh = await open(abs, flags, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await this.clear(abs, path);
      fh = await open(abs, flags, 0o600);
    }
    try {
      await this.verify(fh, path, false);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return fh;
  }

  async symlink(path: Buffer, target: Buffer, e: IndexEntry): Promise<void> {
    const abs = this.abs(path);
    await this.clear(abs, path);
    await symlink(target, abs);
    if (isRoot) await lchown(abs, e.uid, e.gid);
    const t = Number(e.mtimeNs) / 1e9;
    await lutimes(abs, t, t);
  }

  async hardlink(path: Buffer, existing: Buffer): Promise<void> {
    const abs = this.abs(path);
    await this.clear(abs, path);
    await link(this.abs(existing), abs);
  }

  /** Ownership, mode, xattrs and times, through the open descriptor. */
  async applyMetadata(fh: FileHandle, e: IndexEntry, mode: number): Promise<void> {
    if (isRoot) await fh.chown(e.uid, e.gid);
    await fh.chmod(mode);
    for (const [name, value] of e.xattrs ?? []) {
      if (!restorableXattr(name)) {
        this.warnings.add('CAIRN_W_XATTR_SKIPPED', e.path, `extended attribute ${name} is never restored (only user.* and POSIX ACLs)`);
        continue;
      }
      await xattr.setAttribute(fdPath(fh.fd), name, value);
    }
    const t = Number(e.mtimeNs) / 1e9;
    await fh.utimes(t, t);
  }

  /** Applies a directory's metadata (after its children, so their creation does not change it). */
  async finishDir(e: IndexEntry, mode: number): Promise<void> {
    const fh = await open(this.abs(e.path), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    try {
      await this.verify(fh, e.path, true);
      await this.applyMetadata(fh, e, mode);
    } finally {
      await fh.close();
    }
  }
}
