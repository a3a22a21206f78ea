// The one order of paths in Cairn's index and walks: component by component, each compared as raw
// bytes. A depth-first walk that sorts each directory's names by bytes emits exactly this order
// ("a", "a/b", "a.b": "a/b" sorts with "a", not after "a.b").

const SLASH = 0x2f;

/** Compares two relative paths (raw bytes, '/'-separated, no leading slash). */
export function comparePaths(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    // A separator ends a component: the shorter component sorts first.
    if (x === SLASH) return -1;
    if (y === SLASH) return 1;
    return x - y;
  }
  return a.length - b.length;
}

export function joinPath(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 0 ? name : Buffer.concat([dir, Buffer.from('/'), name]);
}

export function splitPath(path: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === SLASH) {
      parts.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

/** Number of components; the root ('') has depth 0. */
export function pathDepth(path: Buffer): number {
  if (path.length === 0) return 0;
  let d = 1;
  for (const c of path) if (c === SLASH) d++;
  return d;
}

/** The parent of a relative path ('' for top-level names and for the root). */
export function parentPath(path: Buffer): Buffer {
  const i = path.lastIndexOf(SLASH);
  return i < 0 ? Buffer.alloc(0) : path.subarray(0, i);
}

/** True when `path` equals `ancestor` or lies below it. */
export function isWithin(path: Buffer, ancestor: Buffer): boolean {
  if (ancestor.length === 0) return true;
  if (path.length < ancestor.length) return false;
  if (path.length > ancestor.length && path[ancestor.length] !== SLASH) return false;
  return path.compare(ancestor, 0, ancestor.length, 0, ancestor.length) === 0;
}
