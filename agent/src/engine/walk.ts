// The backup walk: depth-first, each directory's names sorted by raw bytes (the index's order),
// with lstat, never following a symlink and never leaving the root's file system. Directories are
// opened with O_NOFOLLOW and listed through their descriptor, so a directory swapped for a
// symlink mid-walk is not followed. Memory: the open directories' name lists (depth x width).
import { constants as C, type BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { comparePaths, joinPath } from '../../../common/src/format/path-order.ts';
import type { Warnings } from './warnings.ts';

export type WalkType = 'file' | 'dir' | 'symlink';

export interface WalkEntry {
  /** Relative path ('' for the root). */
  path: Buffer;
  abs: Buffer;
  type: WalkType;
  stat: BigIntStats;
}

export interface WalkRoot {
  abs: Buffer;
  /** Real path of the root, for checking where opened descriptors lead. */
  real: string;
  dev: bigint;
}

export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** True when an opened descriptor's real path is the root or below it. */
export async function descriptorUnder(fd: number, root: WalkRoot): Promise<boolean> {
  const real = await readlink(fdPath(fd));
  return real === root.real || real.startsWith(root.real.endsWith('/') ? root.real : `${root.real}/`);
}

function typeOf(st: BigIntStats): WalkType | 'special' {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'special';
}

/** Lists a directory through a descriptor opened without following symlinks. */
async function listDir(abs: Buffer, expect: BigIntStats, root: WalkRoot): Promise<Buffer[] | undefined> {
  const fh = await open(abs, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  try {
    const st = await fh.stat({ bigint: true });
    if (st.ino !== expect.ino || st.dev !== expect.dev || !(await descriptorUnder(fh.fd, root))) return undefined;
    const names = await readdir(fdPath(fh.fd), { encoding: 'buffer' });
    return names.sort((a, b) => Buffer.compare(a, b));
  } finally {
    await fh.close();
  }
}

interface Frame {
  dir: Buffer;
  abs: Buffer;
  names: Buffer[];
  next: number;
  /** lstat of names[next..], started ahead so the walk does not wait on one call at a time. */
  stats: Map<number, Promise<BigIntStats | undefined>>;
}

/** Names of a directory whose lstat runs ahead of the walk. */
const STAT_AHEAD = 128;

function statAhead(f: Frame, slash: Buffer): Promise<BigIntStats | undefined> {
  for (let i = f.next; i < Math.min(f.names.length, f.next + STAT_AHEAD); i++) {
    if (!f.stats.has(i)) {
      const p = lstat(Buffer.concat([f.abs, slash, f.names[i]!]), { bigint: true }).catch(() => undefined);
      f.stats.set(i, p);
    }
  }
  const p = f.stats.get(f.next)!;
  f.stats.delete(f.next);
  return p;
}

export async function* walk(root: WalkRoot, warnings: Warnings | undefined, signal?: AbortSignal): AsyncGenerator<WalkEntry> {
  const rootStat = await lstat(root.abs, { bigint: true });
  yield { path: Buffer.alloc(0), abs: root.abs, type: 'dir', stat: rootStat };
  const rootNames = await listDir(root.abs, rootStat, root);
  if (!rootNames) throw new Error('the backup root changed while it was opened');
  const stack: Frame[] = [{ dir: Buffer.alloc(0), abs: root.abs, names: rootNames, next: 0, stats: new Map() }];
  const slash = Buffer.from('/');
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const top = stack[stack.length - 1]!;
    if (top.next >= top.names.length) {
      stack.pop();
      continue;
    }
    const pending = statAhead(top, slash);
    const name = top.names[top.next++]!;
    const path = joinPath(top.dir, name);
    const abs = Buffer.concat([top.abs, slash, name]);
    const st = await pending;
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
    yield { path, abs, type, stat: st };
    if (type === 'dir') {
      let names: Buffer[] | undefined;
      try {
        names = await listDir(abs, st, root);
      } catch {
        names = undefined;
      }
      if (!names) {
        warnings?.add('CAIRN_W_UNREADABLE', path, 'directory changed or could not be listed; its contents are not in this backup');
        continue;
      }
      stack.push({ dir: path, abs, names, next: 0, stats: new Map() });
    }
  }
}

/** Sanity check used by tests: the walk's order is the index's order. */
export function inIndexOrder(paths: Buffer[]): boolean {
  for (let i = 1; i < paths.length; i++) if (comparePaths(paths[i - 1]!, paths[i]!) >= 0) return false;
  return true;
}

/** Counts files and bytes ahead of the backup, so progress has totals. */
export async function countTree(root: WalkRoot, signal: AbortSignal, p: { totalFiles: number; totalBytes: number; totalKnown: boolean }): Promise<void> {
  for await (const e of walk(root, undefined, signal)) {
    if (e.type === 'file') {
      p.totalFiles++;
      p.totalBytes += Number(e.stat.size);
    }
  }
  p.totalKnown = true;
}
