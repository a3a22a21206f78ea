// The backup walk: depth-first, each directory's names sorted by raw bytes (the index's order),
// with lstat, never following a symlink and never leaving the root's file system. Directories are
// opened with O_NOFOLLOW, checked (same inode as the lstat, descriptor under the root) and listed
// and their xattrs read through that descriptor, so a directory swapped for a symlink mid-walk is
// not followed. Memory: the open directories' name lists (depth x width).
//
// The calls are synchronous: on a local file system each is a few microseconds, while a thread
// pool round trip per call cost several times that in queueing and wakeups on the event loop
// (profiled: lstat, open and close were the top native frames of a 10k-file backup). The caller
// yields to the event loop between entries (backup.ts).
import { closeSync, constants as C, fstatSync, lstatSync, openSync, readdirSync, type BigIntStats } from 'node:fs';
import { comparePaths } from '../../../common/src/format/path-order.ts';
import { descriptorUnder, fdPath, readXattrs } from './file-source.ts';
import type { Warnings } from './warnings.ts';

export type WalkType = 'file' | 'dir' | 'symlink';

export interface WalkEntry {
  /** Relative path ('' for the root). */
  path: Buffer;
  abs: Buffer;
  type: WalkType;
  stat: BigIntStats;
  /** A directory's extended attributes, read while it was listed. */
  xattrs?: Array<[string, Buffer]>;
}

export interface WalkRoot {
  abs: Buffer;
  /** Real path of the root, for checking where opened descriptors lead. */
  real: string;
  dev: bigint;
}

function typeOf(st: BigIntStats): WalkType | 'special' {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'special';
}

/**
 * A directory's names as latin1 strings: one character per byte, so no name is changed and
 * comparing two of them compares their bytes (the index's order). Strings live in the V8 heap;
 * a Buffer per name was a native allocation each, and a million of them (a volume of tiny
 * files) fragmented the process's malloc heap into tens of MiB it never gave back.
 */
interface Listing {
  names: string[];
  xattrs: Array<[string, Buffer]>;
}

/** Lists a directory (and reads its xattrs) through a descriptor opened without following symlinks. */
function listDir(abs: Buffer, expect: BigIntStats, root: WalkRoot): Listing | undefined {
  const fd = openSync(abs, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  try {
    const st = fstatSync(fd, { bigint: true });
    if (st.ino !== expect.ino || st.dev !== expect.dev || !descriptorUnder(fd, root)) return undefined;
    const names = readdirSync(fdPath(fd), { encoding: 'latin1' });
    return { names: names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), xattrs: readXattrs(fd) };
  } finally {
    closeSync(fd);
  }
}

interface Frame {
  abs: Buffer;
  names: string[];
  next: number;
}

/** `dir` + '/' + `name` (latin1: its bytes). */
function join(dir: Buffer, name: string): Buffer {
  const out = Buffer.allocUnsafe(dir.length + 1 + name.length);
  dir.copy(out, 0);
  out[dir.length] = 0x2f;
  out.write(name, dir.length + 1, 'latin1');
  return out;
}

/**
 * Walks `root` in index order. A directory is yielded after it was listed (its `xattrs` set);
 * one that cannot be listed is yielded without children after a CAIRN_W_UNREADABLE warning.
 */
export function* walk(root: WalkRoot, warnings: Warnings | undefined, signal?: AbortSignal): Generator<WalkEntry> {
  const rootStat = lstatSync(root.abs, { bigint: true });
  const rootList = listDir(root.abs, rootStat, root);
  if (!rootList) throw new Error('the backup root changed while it was opened');
  yield { path: Buffer.alloc(0), abs: root.abs, type: 'dir', stat: rootStat, xattrs: rootList.xattrs };
  const stack: Frame[] = [{ abs: root.abs, names: rootList.names, next: 0 }];
  // An entry's relative path is the end of its absolute one.
  const relAt = root.abs.length + 1;
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const top = stack[stack.length - 1]!;
    if (top.next >= top.names.length) {
      stack.pop();
      continue;
    }
    const name = top.names[top.next++]!;
    const abs = join(top.abs, name);
    const path = abs.subarray(relAt);
    let st: BigIntStats | undefined;
    try {
      st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (!st) {
      warnings?.add('CAIRN_W_FILE_VANISHED', path, 'removed during the backup');
      continue;
    }
    const type = typeOf(st);
    if (type === 'special') {
      warnings?.add('CAIRN_W_SPECIAL_FILE_SKIPPED', path, 'devices, FIFOs and sockets are not backed up');
      continue;
    }
    if (st.dev !== root.dev) {
      warnings?.add('CAIRN_W_OTHER_FILESYSTEM_SKIPPED', path, 'on another file system than the volume');
      continue;
    }
    if (type !== 'dir') {
      yield { path, abs, type, stat: st };
      continue;
    }
    let list: Listing | undefined;
    try {
      list = listDir(abs, st, root);
    } catch {
      list = undefined;
    }
    if (!list) {
      warnings?.add('CAIRN_W_UNREADABLE', path, 'directory changed or could not be listed; its contents are not in this backup');
      yield { path, abs, type, stat: st, xattrs: [] };
      continue;
    }
    yield { path, abs, type, stat: st, xattrs: list.xattrs };
    stack.push({ abs, names: list.names, next: 0 });
  }
}

/** Sanity check used by tests: the walk's order is the index's order. */
export function inIndexOrder(paths: Buffer[]): boolean {
  for (let i = 1; i < paths.length; i++) if (comparePaths(paths[i - 1]!, paths[i]!) >= 0) return false;
  return true;
}
