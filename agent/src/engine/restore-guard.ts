// Every entry of an index is hostile until proven otherwise (the tenant owns the bucket and can
// write anything into it). These checks refuse, with CAIRN_E_HOSTILE_ARCHIVE or
// CAIRN_E_LIMIT_EXCEEDED and the entry's path, anything that would leave the target, write
// through a link, create a device, or exceed the restore's caps.
import { CairnError } from '../../../common/src/errors.ts';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import { comparePaths, isWithin, parentPath, pathDepth, splitPath } from '../../../common/src/format/path-order.ts';
import { shownPath } from '../../../common/src/format/shown-path.ts';

export interface RestoreLimits {
  /** Sum of file sizes (e.g. the target volume's capacity). */
  maxBytes: number;
  maxEntries: number;
  maxDepth: number;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const SETID = 0o6000;
const MAX_NAME = 255;
const MAX_PATH = 4095;

function hostile(path: Buffer, why: string): never {
  throw new CairnError('CAIRN_E_HOSTILE_ARCHIVE', `refusing entry ${shownPath(path)}: ${why}`);
}

function checkRelativePath(path: Buffer, what: string, owner: Buffer): void {
  if (path.length > MAX_PATH) hostile(owner, `${what} is longer than ${MAX_PATH} bytes`);
  if (path.includes(0)) hostile(owner, `${what} contains a NUL byte`);
  if (path[0] === 0x2f) hostile(owner, `${what} is absolute`);
  // Component by component, in place (this runs for every entry of an index).
  for (let start = 0; start <= path.length;) {
    let end = path.indexOf(0x2f, start);
    if (end < 0) end = path.length;
    const n = end - start;
    if (n === 0) hostile(owner, `${what} has an empty component`);
    if (n > MAX_NAME) hostile(owner, `${what} has a component longer than ${MAX_NAME} bytes`);
    if ((n === 1 && path[start] === 0x2e) || (n === 2 && path[start] === 0x2e && path[start + 1] === 0x2e)) hostile(owner, `${what} has a "." or ".." component`);
    start = end + 1;
  }
}

/**
 * True when a symlink target, resolved from the link's directory, stays inside the root. Only
 * leading ".." components are allowed: after a normal component, ".." would climb out of
 * whatever that component is, and it may itself be a symlink (a/up -> .., a/esc -> up/../..).
 * With leading ".." only, every link lands in a real ancestor and then descends, so chains of
 * links stay inside too.
 */
export function symlinkStaysInside(linkPath: Buffer, target: Buffer): boolean {
  if (target.length === 0 || target[0] === 0x2f) return false;
  let depth = pathDepth(parentPath(linkPath));
  let descended = false;
  for (const c of splitPath(target)) {
    if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
    if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) {
      if (descended || --depth < 0) return false;
    } else {
      descended = true;
    }
  }
  return true;
}

export class RestoreGuard {
  private readonly limits: RestoreLimits;
  private previous: Buffer | undefined;
  private entries = 0;
  private bytes = 0;
  /** Directories of this restore along the current branch (index order is depth-first). */
  private readonly dirs: Buffer[] = [];
  /** Regular files with several links that this restore created: the only hardlink targets. */
  private readonly linkTargets = new Set<string>();
  setidStripped = 0;

  constructor(limits: RestoreLimits) {
    this.limits = limits;
  }

  /** Validates an entry in index order; returns the mode to apply (setid bits stripped). */
  check(e: IndexEntry): number {
    const p = e.path;
    if (++this.entries > this.limits.maxEntries) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `more than ${this.limits.maxEntries} entries (at ${shownPath(p)})`);
    if (this.previous === undefined) {
      if (p.length !== 0 || e.type !== 'dir') hostile(p, 'the first entry must be the root directory');
      this.previous = p;
      this.dirs.push(p);
      return this.mode(e);
    }
    if (p.length === 0) hostile(p, 'a second root entry');
    checkRelativePath(p, 'path', p);
    if (comparePaths(this.previous, p) >= 0) hostile(p, 'entries are not in strictly increasing path order (duplicate or reordered)');
    this.previous = p;
    if (pathDepth(p) > this.limits.maxDepth) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `entry ${shownPath(p)} is deeper than ${this.limits.maxDepth} levels`);
    while (!isWithin(p, this.dirs[this.dirs.length - 1]!)) this.dirs.pop();
    if (!parentPath(p).equals(this.dirs[this.dirs.length - 1]!)) hostile(p, 'its parent is not a directory created by this restore (a symlink, a file, or missing)');
    const fmt = e.mode & S_IFMT;
    switch (e.type) {
      case 'dir':
        if (fmt !== S_IFDIR) this.refuseSpecial(p, fmt);
        this.dirs.push(p);
        break;
      case 'file':
        if (fmt !== S_IFREG) this.refuseSpecial(p, fmt);
        this.bytes += e.size;
        if (this.bytes > this.limits.maxBytes) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `restoring ${shownPath(p)} would exceed the ${this.limits.maxBytes}-byte limit (the target's capacity)`);
        if (e.size > 0 && !e.loc) hostile(p, 'a non-empty file without a data location');
        if (e.nlink > 1) this.linkTargets.add(p.toString('hex'));
        break;
      case 'symlink':
        if (fmt !== S_IFLNK) this.refuseSpecial(p, fmt);
        if (!e.link || e.link.length === 0 || e.link.length > MAX_PATH || e.link.includes(0)) hostile(p, 'a symlink with an empty, over-long or NUL-containing target');
        if (!symlinkStaysInside(p, e.link)) hostile(p, `symlink target ${shownPath(e.link)} leaves the volume`);
        break;
      case 'hardlink':
        if (!e.link) hostile(p, 'a hardlink without a target');
        checkRelativePath(e.link, 'hardlink target', p);
        if (!this.linkTargets.has(e.link.toString('hex'))) hostile(p, `hardlink to ${shownPath(e.link)}, which is not a regular file this restore created`);
        break;
    }
    return this.mode(e);
  }

  private refuseSpecial(p: Buffer, fmt: number): never {
    if (fmt !== S_IFREG && fmt !== S_IFDIR && fmt !== S_IFLNK) hostile(p, 'devices, FIFOs and sockets are never restored');
    hostile(p, 'its mode does not match its type');
  }

  private mode(e: IndexEntry): number {
    let m = e.mode & 0o7777;
    if (m & SETID && e.type !== 'hardlink') {
      m &= ~SETID;
      this.setidStripped++;
    }
    return m;
  }
}

/** Whether the restore of `paths` (subset) needs this entry: inside one, or an ancestor of one. */
export function selectedBy(paths: Buffer[] | undefined, p: Buffer): boolean {
  if (!paths) return true;
  return paths.some((s) => isWithin(p, s) || isWithin(s, p));
}
