// Random source trees for the restore fuzzer: directories, files, symlinks and hardlinks whose
// names are random bytes (non-UTF-8 included, up to 255 bytes), with random modes (setuid, setgid
// and sticky bits too), owners (as root), mtimes and xattrs. A tree is made on disk, backed up by
// the real engine, and its digest is what an untouched restore must reproduce.
//
// Symlink targets are generated to stay inside the volume (only leading "..", at most as many as
// the link is deep) unless the spec says otherwise: an absolute target, one ".." too many, or a
// ".." after a name. Those are valid file system content that a restore refuses by policy
// (docs/security.md row 5), so an untouched backup holding one must fail CAIRN_E_HOSTILE_ARCHIVE.
import { createHash } from 'node:crypto';
import { chmod, lchown, link, lstat, lutimes, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import fc from 'fast-check';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as {
  setAttribute(p: string, n: string, v: Buffer): Promise<void>;
  listAttributesSync(p: string): string[];
  getAttributeSync(p: string, n: string): Buffer;
};

export const isRoot = process.getuid?.() === 0;

export type LinkStyle = 'inside' | 'absolute' | 'tooHigh' | 'dotdotAfterName';

export interface LinkSpec {
  style: LinkStyle;
  /** Leading ".." components ("inside": taken modulo the link's depth + 1). */
  up: number;
  /** Then these components; "." and "" (a doubled slash) included. */
  parts: Buffer[];
}

export interface Meta {
  perm: number;
  owner: readonly [number, number];
  /** Seconds since the epoch. */
  mtime: number;
  xattrs: Array<[string, Buffer]>;
}

export type NodeSpec =
  | { kind: 'file'; name: Buffer; data: Buffer; meta: Meta }
  | { kind: 'dir'; name: Buffer; meta: Meta; children: NodeSpec[] }
  | { kind: 'symlink'; name: Buffer; target: LinkSpec; meta: Meta }
  | { kind: 'hardlink'; name: Buffer; to: number };

export interface TreeSpec {
  meta: Meta;
  children: NodeSpec[];
}

const SLASH = 0x2f;

const isDotName = (b: Buffer): boolean => (b.length === 1 && b[0] === 0x2e) || (b.length === 2 && b[0] === 0x2e && b[1] === 0x2e);

/** A file name: printable, Unicode, raw bytes (mostly not UTF-8), or long (PAX path headers). */
export const nameArb: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,9}$/).map((s) => Buffer.from(s)), weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).map((s) => Buffer.from(s)), weight: 2 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 16 }).map((a) => Buffer.from(a)), weight: 3 },
  { arbitrary: fc.tuple(fc.integer({ min: 90, max: 255 }), fc.constantFrom(0x61, 0xe9, 0xff)).map(([n, b]) => Buffer.alloc(n, b)), weight: 1 },
).map((b) => Buffer.from(b.filter((x) => x !== 0 && x !== SLASH).subarray(0, 255)))
  .filter((b) => b.length > 0 && !isDotName(b));

const permArb = fc.oneof(
  fc.constantFrom(0o644, 0o755, 0o600, 0o700, 0o444, 0o000, 0o4755, 0o2775, 0o1777, 0o6711),
  fc.integer({ min: 0, max: 0o7777 }),
);

const ownerArb = fc.oneof(
  { arbitrary: fc.constant([0, 0] as const), weight: 3 },
  { arbitrary: fc.tuple(fc.constantFrom(1, 1000, 65534, 2_097_152, 4_294_967_294), fc.constantFrom(1, 1000, 65534, 2_097_152, 4_294_967_294)), weight: 1 },
);

const xattrArb: fc.Arbitrary<Array<[string, Buffer]>> = fc.uniqueArray(
  fc.tuple(
    fc.oneof(fc.stringMatching(/^user\.[a-z0-9._-]{1,12}$/), ...(isRoot ? [fc.stringMatching(/^trusted\.[a-z]{1,8}$/)] : [])),
    fc.uint8Array({ maxLength: 96 }).map((a) => Buffer.from(a)),
  ),
  { maxLength: 2, selector: ([n]) => n },
);

const metaArb: fc.Arbitrary<Meta> = fc.record({
  perm: permArb,
  owner: ownerArb,
  mtime: fc.oneof(fc.constant(1_700_000_000), fc.integer({ min: 0, max: 4_000_000_000 })),
  xattrs: fc.oneof({ arbitrary: fc.constant<Array<[string, Buffer]>>([]), weight: 3 }, { arbitrary: xattrArb, weight: 1 }),
});

/** File contents: small random bytes, a compressible run (spans frames), or empty. */
export const dataArb: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)), weight: 5 },
  { arbitrary: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 150_000 })).map(([p, n]) => Buffer.alloc(n, Buffer.from(p))), weight: 2 },
  { arbitrary: fc.constant(Buffer.alloc(0)), weight: 1 },
);

const linkPartArb = fc.oneof(
  { arbitrary: nameArb, weight: 6 },
  { arbitrary: fc.constantFrom(Buffer.from('.'), Buffer.alloc(0)), weight: 1 },
);

export const linkSpecArb: fc.Arbitrary<LinkSpec> = fc.record({
  style: fc.oneof({ arbitrary: fc.constant('inside' as const), weight: 12 }, { arbitrary: fc.constantFrom<LinkStyle>('absolute', 'tooHigh', 'dotdotAfterName'), weight: 1 }),
  up: fc.nat(4),
  parts: fc.array(linkPartArb, { minLength: 0, maxLength: 3 }),
});

export const treeArb: fc.Arbitrary<TreeSpec> = fc.letrec<{ node: NodeSpec; dir: NodeSpec }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 3, withCrossShrink: true },
    { arbitrary: fc.record({ kind: fc.constant('file' as const), name: nameArb, data: dataArb, meta: metaArb }), weight: 5 },
    { arbitrary: fc.record({ kind: fc.constant('symlink' as const), name: nameArb, target: linkSpecArb, meta: metaArb }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('hardlink' as const), name: nameArb, to: fc.nat() }), weight: 1 },
    { arbitrary: tie('dir'), weight: 2 },
  ),
  dir: fc.record({
    kind: fc.constant('dir' as const), name: nameArb, meta: metaArb,
    children: fc.uniqueArray(tie('node'), { maxLength: 5, selector: (n) => n.name.toString('hex') }),
  }),
})).dir.map((d) => d as Extract<NodeSpec, { kind: 'dir' }>).map((d): TreeSpec => ({ meta: d.meta, children: d.children }));

/** The target of a symlink whose parent directory is `depth` levels below the root. */
export function renderLink(t: LinkSpec, depth: number, absOutside: string): Buffer {
  const dd = Buffer.from('..');
  const named = t.parts.filter((p) => p.length > 0 && !(p.length === 1 && p[0] === 0x2e));
  let comps: Buffer[];
  switch (t.style) {
    case 'inside':
      comps = [...Array<Buffer>(t.up % (depth + 1)).fill(dd), ...t.parts];
      if (comps.length === 0 || comps[0]!.length === 0) comps.unshift(Buffer.from('.'));
      break;
    case 'absolute':
      return Buffer.concat([Buffer.from(t.up % 2 === 0 ? absOutside : '/etc'), Buffer.from('/'), ...t.parts.flatMap((p) => [p, Buffer.from('/')]), Buffer.from('x')]);
    case 'tooHigh':
      comps = [...Array<Buffer>(depth + 1 + (t.up % 3)).fill(dd), ...t.parts, Buffer.from('outside')];
      break;
    case 'dotdotAfterName':
      comps = [named[0] ?? Buffer.from('d'), dd, ...t.parts, Buffer.from('x')];
      break;
  }
  return Buffer.concat(comps.flatMap((c, i) => (i === 0 ? [c] : [Buffer.from('/'), c])));
}

/** True when the tree holds a symlink the restore refuses by policy. */
export function hasRefusedLink(t: TreeSpec): boolean {
  const visit = (ns: NodeSpec[]): boolean => ns.some((n) => (n.kind === 'symlink' && n.target.style !== 'inside') || (n.kind === 'dir' && visit(n.children)));
  return visit(t.children);
}

const join = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, Buffer.from('/'), name]);
const utf8Path = (p: Buffer): string | undefined => (Buffer.from(p.toString()).equals(p) ? p.toString() : undefined);

async function applyMeta(abs: Buffer, m: Meta, kind: 'file' | 'dir'): Promise<void> {
  const s = utf8Path(abs);
  if (s !== undefined) for (const [n, v] of m.xattrs) await xattr.setAttribute(s, n, v);
  // chown clears setuid/setgid: the mode is set after it.
  if (isRoot) await lchown(abs, m.owner[0], m.owner[1]);
  await chmod(abs, isRoot ? m.perm : m.perm | (kind === 'dir' ? 0o700 : 0o600));
}

/** Makes the tree under `root` (an existing empty directory). */
export async function materialize(t: TreeSpec, root: string, absOutside: string): Promise<void> {
  const files: Buffer[] = [];
  const links: Array<{ abs: Buffer; to: number }> = [];
  const finish: Array<() => Promise<void>> = [];
  const rootAbs = Buffer.from(root);
  const make = async (dir: Buffer, depth: number, ns: NodeSpec[]): Promise<void> => {
    for (const n of ns) {
      const abs = join(dir, n.name);
      switch (n.kind) {
        case 'file':
          await writeFile(abs, n.data);
          files.push(abs);
          finish.push(async () => {
            await applyMeta(abs, n.meta, 'file');
            await lutimes(abs, n.meta.mtime, n.meta.mtime);
          });
          break;
        case 'symlink':
          await symlink(renderLink(n.target, depth, absOutside), abs);
          finish.push(async () => {
            if (isRoot) await lchown(abs, n.meta.owner[0], n.meta.owner[1]);
            await lutimes(abs, n.meta.mtime, n.meta.mtime);
          });
          break;
        case 'hardlink':
          links.push({ abs, to: n.to });
          break;
        case 'dir':
          await mkdir(abs);
          await make(abs, depth + 1, n.children);
          // Directories last, deepest first: creating their children would change their mtime.
          finish.push(async () => {
            await applyMeta(abs, n.meta, 'dir');
            await lutimes(abs, n.meta.mtime, n.meta.mtime);
          });
          break;
      }
    }
  };
  await make(rootAbs, 0, t.children);
  for (const l of links) if (files.length > 0) await link(files[l.to % files.length]!, l.abs);
  // In creation order: a directory's own metadata comes after all of its children's.
  for (const f of finish) await f();
  await applyMeta(rootAbs, t.meta, 'dir');
  await lutimes(rootAbs, t.meta.mtime, t.meta.mtime);
}

export interface Digest {
  type: 'dir' | 'file' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtimeS: bigint;
  size?: number;
  sha256?: string;
  link?: string;
  /** First path (in index order) of the file's inode, when it has several links. */
  group?: string;
  xattrs?: Record<string, string>;
}

/**
 * Every entry below `root`, the root included (''), keyed by its path as latin1 (any byte
 * survives). Only user.* xattrs are taken: the only ones a restore writes besides POSIX ACLs,
 * which these trees do not have.
 */
export async function digestTree(root: string): Promise<Map<string, Digest>> {
  const out = new Map<string, Digest>();
  const groups = new Map<string, string>();
  const visit = async (abs: Buffer, rel: string): Promise<void> => {
    const st = await lstat(abs, { bigint: true });
    const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
    const d: Digest = { type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), nlink: type === 'dir' ? 0 : Number(st.nlink), mtimeS: st.mtimeNs / 1_000_000_000n };
    if (type === 'file') {
      d.size = Number(st.size);
      d.sha256 = createHash('sha256').update(await readFile(abs)).digest('hex');
      if (st.nlink > 1n) {
        const id = `${st.dev}:${st.ino}`;
        if (!groups.has(id)) groups.set(id, rel);
        d.group = groups.get(id)!;
      }
    }
    if (type === 'symlink') d.link = (await readlink(abs, { encoding: 'buffer' })).toString('latin1');
    const s = utf8Path(abs);
    if (s !== undefined && type !== 'symlink') {
      const names = xattr.listAttributesSync(s).filter((n) => n.startsWith('user.')).sort();
      if (names.length > 0) d.xattrs = Object.fromEntries(names.map((n) => [n, xattr.getAttributeSync(s, n).toString('hex')]));
    }
    out.set(rel, d);
    if (type !== 'dir') return;
    for (const name of (await readdir(abs, { encoding: 'buffer' })).sort((a, b) => Buffer.compare(a, b))) {
      await visit(join(abs, name), rel === '' ? name.toString('latin1') : `${rel}/${name.toString('latin1')}`);
    }
  };
  await visit(Buffer.from(root), '');
  return out;
}

/** What a faithful restore of `source` looks like: setuid/setgid stripped, nothing else changed. */
export function expectedRestore(source: Map<string, Digest>): Map<string, Digest> {
  return new Map([...source].map(([k, d]) => [k, { ...d, mode: d.type === 'symlink' ? d.mode : d.mode & ~0o6000 }]));
}

/** Sum of file sizes counted once per inode (what the restore's size cap counts). */
export function totalBytes(t: Map<string, Digest>): number {
  let n = 0;
  const seen = new Set<string>();
  for (const [rel, d] of t) {
    if (d.type !== 'file') continue;
    if (d.group !== undefined) {
      if (seen.has(d.group)) continue;
      seen.add(d.group);
    }
    void rel;
    n += d.size ?? 0;
  }
  return n;
}

/** Depth of the deepest entry (top-level names are at depth 1). */
export function maxDepthOf(t: Map<string, Digest>): number {
  let m = 0;
  for (const rel of t.keys()) if (rel !== '') m = Math.max(m, rel.split('/').length);
  return m;
}
