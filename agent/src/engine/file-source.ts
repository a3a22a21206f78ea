// Reading regular files for a backup, synchronously (in the worker threads that build frames, and
// on the main thread for the header of a large file): opened with O_NOFOLLOW, the descriptor
// checked to be the file the walk saw (same inode and device, on the root's file system) and to
// lead under the root (/proc/self/fd), its bytes read through that descriptor, and its status
// compared before and after so a file that changed while it was read is reported instead of
// silently stored torn.
//
// Synchronous on purpose: a small file costs six short system calls (open, fstat, readlink,
// read, fstat, close); through the thread pool each was a round trip with a wakeup, which
// profiled at several times the cost of the call (10k small files spent most of the backup
// queueing). Large files are read in frame-sized slices, each its own open, so that frames of one
// file are read and compressed on all cores.
import { closeSync, constants as C, fstatSync, openSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { listAttributesSync(path: string): string[]; getAttributeSync(path: string, name: string): Buffer };

/** Where a backup or restore may open things: the root's real path and device. */
export interface RootCheck {
  real: string;
  dev: bigint;
}

export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** True when an opened descriptor's real path is the root or below it. */
export function descriptorUnder(fd: number, root: { real: string }): boolean {
  const real = readlinkSync(fdPath(fd));
  return real === root.real || real.startsWith(root.real.endsWith('/') ? root.real : `${root.real}/`);
}

export interface OpenedFile {
  fd: number;
  stat: BigIntStats;
}

/**
 * Opens a regular file for reading without following a symlink; undefined (nothing left open)
 * when it is gone or is no longer the inode `ino` on device `dev` (the root's), under the root.
 */
export function openVerified(abs: Buffer, ino: bigint, dev: bigint, root: RootCheck): OpenedFile | undefined {
  let fd: number;
  try {
    fd = openSync(abs, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    if (stat.isFile() && stat.ino === ino && stat.dev === dev && stat.dev === root.dev && descriptorUnder(fd, root)) return { fd, stat };
  } catch {
    // fall through: not the file we want
  }
  closeSync(fd);
  return undefined;
}

/** Reads `length` bytes at `position` into `into` at `offset`; a short read (the file shrank) is zero-filled. */
export function readFully(fd: number, into: Uint8Array, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  if (done < length) into.fill(0, offset + done, offset + length);
  return done;
}

/** True when size, mtime or ctime differ from `ref` now. */
export function changedSince(fd: number, ref: { size: bigint; mtimeNs: bigint; ctimeNs: bigint }): boolean {
  const now = fstatSync(fd, { bigint: true });
  return now.size !== ref.size || now.mtimeNs !== ref.mtimeNs || now.ctimeNs !== ref.ctimeNs;
}

/** Extended attributes of an open file or directory, read through its descriptor. */
export function readXattrs(fd: number): Array<[string, Buffer]> {
  let names: string[];
  try {
    names = xattr.listAttributesSync(fdPath(fd));
  } catch {
    return [];
  }
  if (names.length === 0) return [];
  const out: Array<[string, Buffer]> = [];
  for (const n of names.sort()) {
    try {
      out.push([n, xattr.getAttributeSync(fdPath(fd), n)]);
    } catch {
      // removed between list and get
    }
  }
  return out;
}
