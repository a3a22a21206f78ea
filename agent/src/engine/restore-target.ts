// Writing into the restore target without ever following a link that is there: files are
// created with O_CREAT|O_EXCL|O_NOFOLLOW (an existing non-directory is unlinked first, never
// opened), every descriptor is checked to lead under the target and to be on its file system,
// and metadata is applied through descriptors (xattrs through /proc/self/fd).
//
// Synchronous: the main thread uses it for directories, links and large files, and the worker
// threads that write frames (restore-job.ts) for the files whose data they hold; each call is a
// short system call that a thread pool round trip would cost several times over.
import {
  closeSync, constants as C, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, symlinkSync, unlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { CairnError } from '../../../common/src/errors.ts';
import { descriptorUnder, fdPath, type RootCheck } from './file-source.ts';
import { shownPath } from '../../../common/src/format/shown-path.ts';
import type { Warnings } from './warnings.ts';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { setAttributeSync(path: string, name: string, value: Buffer): void };

const isRoot = process.getuid?.() === 0;

export function restorableXattr(name: string): boolean {
  return name.startsWith('user.') || name === 'system.posix_acl_access' || name === 'system.posix_acl_default';
}

function escape(path: Buffer, why: string): never {
  throw new CairnError('CAIRN_E_HOSTILE_ARCHIVE', `refusing to write ${shownPath(path)}: ${why}`);
}

export interface TargetRoot extends RootCheck {
  abs: Buffer;
}

/** What is applied to a restored file or directory besides its data. */
export interface Metadata {
  path: Buffer;
  uid: number;
  gid: number;
  /** Seconds since the epoch (access and modification time). */
  time: number;
  /** Only restorable ones reach here (see `restorable`). */
  xattrs?: ReadonlyArray<readonly [string, Uint8Array]>;
}

const SLASH = Buffer.from('/');

export class RestoreTarget {
  readonly root: TargetRoot;

  constructor(root: TargetRoot) {
    this.root = root;
  }

  abs(path: Buffer): Buffer {
    return path.length === 0 ? this.root.abs : Buffer.concat([this.root.abs, SLASH, path]);
  }

  private verify(fd: number, path: Buffer, dir: boolean): void {
    const st = fstatSync(fd, { bigint: true });
    if ((dir ? !st.isDirectory() : !st.isFile()) || st.dev !== this.root.dev || !descriptorUnder(fd, this.root)) {
      escape(path, 'the opened object is not where it must be (raced or redirected)');
    }
  }

  /** Removes an existing non-directory at `abs` (a symlink is removed, never followed). */
  private clear(abs: Buffer, path: Buffer): void {
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      return;
    }
    if (st.isDirectory()) escape(path, 'a directory is in the way');
    unlinkSync(abs);
  }

  mkdir(path: Buffer): void {
    if (path.length === 0) return;
    const abs = this.abs(path);
    try {
      mkdirSync(abs, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!lstatSync(abs).isDirectory()) {
        this.clear(abs, path);
        mkdirSync(abs, { mode: 0o700 });
      }
    }
  }

  /** Creates a new regular file and returns its verified descriptor (the caller closes it). */
  createFile(path: Buffer): number {
    const abs = this.abs(path);
    const flags = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
    let fd: number;
    try {
      fd = openSync(abs, flags, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.clear(abs, path);
      fd = openSync(abs, flags, 0o600);
    }
    try {
      this.verify(fd, path, false);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }

  /** Opens a file this restore created again (for more of its data, or its metadata): same inode, never a link. */
  openCreated(path: Buffer, ino: bigint, dev: bigint): number {
    const fd = openSync(this.abs(path), C.O_WRONLY | C.O_NOFOLLOW);
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile() || st.ino !== ino || st.dev !== dev || !descriptorUnder(fd, this.root)) escape(path, 'the file this restore created was replaced (raced or redirected)');
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }

  symlink(path: Buffer, target: Buffer, uid: number, gid: number, time: number): void {
    const abs = this.abs(path);
    this.clear(abs, path);
    symlinkSync(target, abs);
    if (isRoot) lchownSync(abs, uid, gid);
    lutimesSync(abs, time, time);
  }

  hardlink(path: Buffer, existing: Buffer): void {
    const abs = this.abs(path);
    this.clear(abs, path);
    linkSync(this.abs(existing), abs);
  }

  /**
   * Ownership, mode, xattrs and times, through the open descriptor. Returns the attributes the
   * target's file system does not support (none at all, or not that kind: ENOTSUP), which are
   * skipped, for the caller to report as warnings.
   */
  applyMetadata(fd: number, m: Metadata, mode: number): string[] | undefined {
    if (isRoot) fchownSync(fd, m.uid, m.gid);
    fchmodSync(fd, mode);
    let unsupported: string[] | undefined;
    for (const [name, value] of m.xattrs ?? []) {
      try {
        xattr.setAttributeSync(fdPath(fd), name, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'an error';
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          (unsupported ??= []).push(name);
          continue;
        }
        // What no file system accepts was skipped by `restorable`; this one refuses what others take.
        const full = code === 'ENOSPC' || code === 'E2BIG' || code === 'EDQUOT';
        throw new CairnError(full ? 'CAIRN_E_LIMIT_EXCEEDED' : 'CAIRN_E_HOSTILE_ARCHIVE',
          `${shownPath(m.path)}: the target's file system refuses extended attribute ${JSON.stringify(name.slice(0, 80))} of ${value.byteLength} bytes (${code})`);
      }
    }
    futimesSync(fd, m.time, m.time);
    return unsupported;
  }

  /** Applies a directory's metadata (after its children, so their creation does not change it); as applyMetadata. */
  finishDir(m: Metadata, mode: number): string[] | undefined {
    const fd = openSync(this.abs(m.path), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    try {
      this.verify(fd, m.path, true);
      return this.applyMetadata(fd, m, mode);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Why no Linux file system would take this attribute (a name or value a real file system never
 * returns, so only a crafted backup has it), or undefined: names of at most 255 bytes without NUL
 * (fs-xattr would cut the name there and set another attribute) and not empty after the prefix,
 * values of at most 64 KiB, and POSIX ACLs in the kernel's version 2 layout.
 */
export function invalidXattr(name: string, value: Buffer): string | undefined {
  if (Buffer.byteLength(name) > 255 || name.includes('\u0000') || name === 'user.') return 'is not a valid attribute name';
  if (value.length > 65536) return `has a value of ${value.length} bytes, more than any file system takes (64 KiB)`;
  if (name.startsWith('system.posix_acl_') && (value.length < 4 || (value.length - 4) % 8 !== 0 || value.readUInt32LE(0) !== 2)) return 'is not a POSIX ACL';
  return undefined;
}

/** The xattrs of an entry that a restore applies; the others are counted as warnings. */
/** Reports attributes the target's file system does not support (applyMetadata's result). */
export function warnUnsupported(path: Buffer, names: readonly string[] | undefined, warnings: Warnings): void {
  for (const name of names ?? []) {
    warnings.add('CAIRN_W_XATTR_SKIPPED', path, `extended attribute ${JSON.stringify(name.slice(0, 80))} not restored: the target's file system does not support it`);
  }
}

export function restorable(path: Buffer, xattrs: ReadonlyArray<readonly [string, Buffer]> | undefined, warnings: Warnings): Array<[string, Buffer]> | undefined {
  if (!xattrs || xattrs.length === 0) return undefined;
  const out: Array<[string, Buffer]> = [];
  for (const [name, value] of xattrs) {
    if (!restorableXattr(name)) {
      warnings.add('CAIRN_W_XATTR_SKIPPED', path, `extended attribute ${name} is never restored (only user.* and POSIX ACLs)`);
      continue;
    }
    const invalid = invalidXattr(name, value);
    if (invalid) warnings.add('CAIRN_W_XATTR_SKIPPED', path, `extended attribute ${JSON.stringify(name.slice(0, 80))} ${invalid}`);
    else out.push([name, value]);
  }
  return out.length > 0 ? out : undefined;
}
