// The demo's data: a tree of a few hundred files written into a tenant's volume (nested
// directories, an empty one, a symlink, a non-ASCII name, empty files, a 5 MiB random file), a
// digest of every entry of a tree, and the comparison of two digests.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One entry of a tree: a file by its content's sha256, a symlink by its target, a directory. */
export type Entry = { kind: 'file'; size: number; sha256: string } | { kind: 'symlink'; target: string } | { kind: 'dir' };

/** Entries by path relative to the tree's root, '/'-separated. */
export type Tree = Map<string, Entry>;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Writes the demo's files under `root` (the volume as the pod sees it) and returns their digest. */
export async function writeDemoData(root: string, tenant: string): Promise<Tree> {
  const files = new Map<string, Buffer>();
  files.set('README.txt', Buffer.from(`Data of ${tenant}, written before the backup at ${new Date().toISOString()}.\n`));
  files.set('config/app.json', Buffer.from(`${JSON.stringify({ tenant, replicas: 3, features: ['backup', 'restore'] }, null, 2)}\n`));
  files.set('config/empty.conf', Buffer.alloc(0));
  files.set('notes/naïve café.txt', Buffer.from('a file name that is not ASCII\n'));
  for (const [month, days] of [['01', 31], ['02', 28]] as const) {
    for (let d = 1; d <= days; d++) {
      const day = String(d).padStart(2, '0');
      const lines = Array.from({ length: 20 + randomInt(200) }, (_, i) => `2025-${month}-${day}T${String(i % 24).padStart(2, '0')}:00:00Z ${tenant} event ${i} ${randomBytes(6).toString('hex')}`);
      files.set(`logs/2025/${month}/day-${day}.log`, Buffer.from(`${lines.join('\n')}\n`));
    }
  }
  for (let s = 0; s < 12; s++) {
    for (let i = 0; i < 20; i++) {
      files.set(`data/shard-${String(s).padStart(2, '0')}/item-${String(i).padStart(3, '0')}.bin`, randomBytes(i === 0 ? 0 : randomInt(16 * 1024)));
    }
  }
  files.set('media/big-random.bin', randomBytes(5 * 1024 * 1024));

  for (const [path, data] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), data, { mode: 0o644 });
  }
  await mkdir(join(root, 'cache', 'empty'), { recursive: true });
  await symlink('logs/2025/02/day-28.log', join(root, 'current.log'));
  return digestTree(root);
}

/** Every entry under `root` (not `root` itself), symlinks read and never followed. */
export async function digestTree(root: string): Promise<Tree> {
  const tree: Tree = new Map();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(path);
      if (st.isSymbolicLink()) {
        tree.set(relPath, { kind: 'symlink', target: await readlink(path) });
      } else if (st.isDirectory()) {
        tree.set(relPath, { kind: 'dir' });
        await walk(path, relPath);
      } else if (st.isFile()) {
        tree.set(relPath, { kind: 'file', size: st.size, sha256: sha256(await readFile(path)) });
      }
    }
  };
  await walk(root, '');
  return tree;
}

export interface TreeStats {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

export function treeStats(tree: Tree): TreeStats {
  const s = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  for (const e of tree.values()) {
    if (e.kind === 'file') {
      s.files++;
      s.bytes += e.size;
    } else if (e.kind === 'dir') s.dirs++;
    else s.symlinks++;
  }
  return s;
}

export interface Comparison {
  checked: number;
  identical: number;
  different: string[];
  missing: string[];
  unexpected: string[];
}

function same(a: Entry, b: Entry): boolean {
  if (a.kind === 'file' && b.kind === 'file') return a.sha256 === b.sha256 && a.size === b.size;
  if (a.kind === 'symlink' && b.kind === 'symlink') return a.target === b.target;
  return a.kind === b.kind;
}

/** Every entry of `expected` looked up in `actual`; entries only in `actual` are `unexpected`. */
export function compareTrees(expected: Tree, actual: Tree): Comparison {
  const c: Comparison = { checked: 0, identical: 0, different: [], missing: [], unexpected: [] };
  for (const [path, e] of expected) {
    c.checked++;
    const a = actual.get(path);
    if (!a) c.missing.push(path);
    else if (same(e, a)) c.identical++;
    else c.different.push(path);
  }
  for (const path of actual.keys()) if (!expected.has(path)) c.unexpected.push(path);
  return c;
}

export const isIdentical = (c: Comparison): boolean => c.identical === c.checked && c.unexpected.length === 0;
