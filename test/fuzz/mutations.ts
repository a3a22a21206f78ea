// Mutations of a stored backup, as someone with write access to the tenant's bucket could make
// them. Two kinds:
//  - blind byte edits of any object (bit flips, truncations, appended or overwritten bytes,
//    splices between objects, one object copied over another, deleted objects, a pack's stored
//    frames swapped, dropped, duplicated or taken from another pack): integrity checks (index
//    SHA-256 in the manifest, zstd checksums, AES-GCM) must catch what matters;
//  - forgeries that pass every integrity check (re-sealed with the tenant's key, SHA-256 fixed):
//    reordered, duplicated, dropped and edited index entries, hostile new entries (paths with
//    "..", absolute, NUL, over-long; links leaving the root, hardlinks to non-files; devices and
//    FIFOs; setuid bits; huge sizes; data locations pointing anywhere; hostile xattrs), symlinks
//    with entries written through them, raw index text (random JSON, broken header or trailer,
//    non-UTF-8, over-long lines), index frames that are bombs or garbage, pack frames replaced by
//    random tar streams (PAX, GNU long names) or hostile zstd frames, and manifest edits.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { EntryType, IndexEntry } from '../../common/src/format/index-entry.ts';
import { comparePaths } from '../../common/src/format/path-order.ts';
import { encodeManifest, type Manifest } from '../../common/src/format/manifest.ts';
import { newPackId, parsePackKey } from '../../common/src/format/layout.ts';
import { splitFrames } from '../../common/src/format/zstd-frame.ts';
import { buildFrame, frameSpecArb, pathSpecArb, renderPath, type FrameSpec, type PathContext, type PathSpec } from './forge.ts';
import { indexFrames, packKeys, readIndex, readIndexText, readManifest, readPack, relocate, writeIndex, writeIndexFrames, writeIndexText, writeManifest, writePack, type StoredBackup } from './stored-backup.ts';
import { nameArb } from './trees.ts';

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

type Json = unknown;

// --- index edits --------------------------------------------------------------------------------

export type FieldEdit =
  | { f: 'path'; p: PathSpec }
  | { f: 'pathOf'; j: number }
  | { f: 'type'; type: EntryType }
  | { f: 'mode'; mode: number }
  | { f: 'perm'; perm: number }
  | { f: 'size'; size: number }
  | { f: 'link'; p: PathSpec }
  | { f: 'linkTo'; j: number }
  | { f: 'nlink'; n: number }
  | { f: 'owner'; uid: number; gid: number }
  | { f: 'mtime'; ns: bigint }
  | { f: 'xattrs'; x: Array<[string, Buffer]> }
  | { f: 'locFrom'; j: number }
  | { f: 'loc'; part: 'pack' | 'randomPack' | 'seq' | 'offset' | 'skip' | 'frames' | 'drop'; n: number; frames: number[]; j: number };

export interface NewEntry {
  type: EntryType;
  fmt: number | undefined;
  perm: number;
  size: number;
  link: PathSpec;
  linkTo: number | undefined;
  locFrom: number | undefined;
  nlink: number;
  xattrs: Array<[string, Buffer]>;
}

export type IndexEdit =
  | { e: 'swap'; i: number; j: number }
  | { e: 'move'; i: number; j: number }
  | { e: 'dup'; i: number }
  | { e: 'drop'; i: number }
  | { e: 'field'; i: number; edit: FieldEdit }
  | { e: 'insert'; parent: number; name: PathSpec; entry: NewEntry; sorted: boolean; at: number }
  | { e: 'linkThrough'; parent: number; name: Buffer; link: PathSpec; child: Buffer; entry: NewEntry };

const typeArb = fc.constantFrom<EntryType>('file', 'dir', 'symlink', 'hardlink');
const fmtArb = fc.constantFrom(0o020000, 0o060000, 0o010000, 0o140000, 0o100000, 0o040000, 0o120000, 0o000000, 0o170000);

export const hostileXattrsArb: fc.Arbitrary<Array<[string, Buffer]>> = fc.array(fc.tuple(
  fc.oneof(
    fc.stringMatching(/^user\.[a-z]{1,10}$/),
    fc.constantFrom('security.capability', 'security.selinux', 'trusted.overlay.opaque', 'system.posix_acl_access', 'system.posix_acl_default', 'user.', 'user.a\u0000b', ''),
    fc.string({ maxLength: 20 }).map((s) => `user.${s}`),
    fc.integer({ min: 250, max: 300 }).map((n) => `user.${'n'.repeat(n)}`),
  ),
  fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)), weight: 5 },
    { arbitrary: fc.constantFrom(5000, 70_000).map((n) => Buffer.alloc(n, 1)), weight: 1 },
  ),
), { minLength: 1, maxLength: 3 });

/** A new entry's name: mostly one plain name (so the entry itself is acceptable), else hostile. */
const entryNameArb: fc.Arbitrary<PathSpec> = fc.oneof(
  { arbitrary: nameArb.map((b): PathSpec => [{ a: 'name', b }]), weight: 3 },
  { arbitrary: pathSpecArb, weight: 2 },
);

/** A link target: hostile, or one that stays inside (leading ".." then names). */
const linkPathArb: fc.Arbitrary<PathSpec> = fc.oneof(
  { arbitrary: pathSpecArb, weight: 2 },
  { arbitrary: fc.tuple(fc.nat(2), fc.array(nameArb, { minLength: 1, maxLength: 2 })).map(([up, names]): PathSpec => [...Array.from({ length: up }, () => ({ a: 'dotdot' as const })), ...names.map((b) => ({ a: 'name' as const, b }))]), weight: 1 },
);

const sizeArb = fc.oneof(fc.nat(5000), fc.constantFrom(1 << 20, (1 << 20) + 1, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER));

const newEntryArb: fc.Arbitrary<NewEntry> = fc.record({
  type: typeArb,
  fmt: fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: fmtArb, weight: 1 }),
  perm: fc.oneof(fc.constantFrom(0o644, 0o4755, 0o6777, 0o2755), fc.integer({ min: 0, max: 0o7777 })),
  size: sizeArb,
  link: linkPathArb,
  linkTo: fc.option(fc.nat(), { nil: undefined }),
  locFrom: fc.option(fc.nat(), { nil: undefined }),
  nlink: fc.constantFrom(1, 2, 3),
  xattrs: fc.oneof({ arbitrary: fc.constant<Array<[string, Buffer]>>([]), weight: 4 }, { arbitrary: hostileXattrsArb, weight: 1 }),
});

// Edits that keep an entry acceptable (data location, size, permissions, owner, times, xattrs)
// weigh more than ones the guard refuses at once, so that many forgeries reach the writing code.
const fieldEditArb: fc.Arbitrary<FieldEdit> = fc.oneof(
  { arbitrary: fc.record({ f: fc.constant('path' as const), p: pathSpecArb }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('pathOf' as const), j: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('type' as const), type: typeArb }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('mode' as const), mode: fc.oneof(fc.integer({ min: 0, max: 0o177777 }), fmtArb.map((f) => f | 0o6755)) }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('perm' as const), perm: fc.integer({ min: 0, max: 0o7777 }) }), weight: 2 },
  { arbitrary: fc.record({ f: fc.constant('size' as const), size: sizeArb }), weight: 3 },
  { arbitrary: fc.record({ f: fc.constant('link' as const), p: linkPathArb }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('linkTo' as const), j: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('nlink' as const), n: fc.nat(3) }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('owner' as const), uid: fc.oneof(fc.constant(0), fc.nat(0xffffffff)), gid: fc.oneof(fc.constant(0), fc.nat(0xffffffff)) }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('mtime' as const), ns: fc.oneof(fc.bigInt({ min: -(10n ** 19n), max: 10n ** 20n - 1n }), fc.constantFrom(0n, -1n, 2n ** 63n)) }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('xattrs' as const), x: hostileXattrsArb }), weight: 2 },
  { arbitrary: fc.record({ f: fc.constant('locFrom' as const), j: fc.nat() }), weight: 3 },
  {
    arbitrary: fc.record({
      f: fc.constant('loc' as const), part: fc.constantFrom('pack' as const, 'randomPack' as const, 'seq' as const, 'offset' as const, 'skip' as const, 'frames' as const, 'drop' as const),
      n: fc.oneof(fc.nat(70_000), fc.constantFrom(2 ** 32, Number.MAX_SAFE_INTEGER)), frames: fc.array(fc.oneof(fc.integer({ min: 1, max: 70_000 }), fc.constant(17 << 20)), { minLength: 1, maxLength: 4 }), j: fc.nat(),
    }),
    weight: 5,
  },
);

export const indexEditArb: fc.Arbitrary<IndexEdit> = fc.oneof(
  { arbitrary: fc.record({ e: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ e: fc.constant('move' as const), i: fc.nat(), j: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ e: fc.constant('dup' as const), i: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ e: fc.constant('drop' as const), i: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ e: fc.constant('field' as const), i: fc.nat(), edit: fieldEditArb }), weight: 6 },
  { arbitrary: fc.record({ e: fc.constant('insert' as const), parent: fc.nat(), name: entryNameArb, entry: newEntryArb, sorted: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }), at: fc.nat() }), weight: 6 },
  { arbitrary: fc.record({ e: fc.constant('linkThrough' as const), parent: fc.nat(), name: nameArb, link: linkPathArb, child: nameArb, entry: newEntryArb }), weight: 3 },
);

const pick = <T>(xs: T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);
const joinRel = (dir: Buffer, name: Buffer): Buffer => (dir.length === 0 ? name : Buffer.concat([dir, Buffer.from('/'), name]));

function insertSorted(entries: IndexEntry[], e: IndexEntry): void {
  let k = entries.findIndex((x) => comparePaths(x.path, e.path) > 0);
  if (k < 0) k = entries.length;
  entries.splice(k, 0, e);
}

function makeEntry(path: Buffer, n: NewEntry, entries: IndexEntry[], c: PathContext): IndexEntry {
  const fmt = n.fmt ?? { file: S_IFREG, dir: S_IFDIR, symlink: S_IFLNK, hardlink: S_IFREG }[n.type];
  const e: IndexEntry = {
    path, type: n.type, mode: fmt | n.perm, uid: 0, gid: 0, size: n.type === 'file' ? n.size : 0,
    mtimeNs: 1_700_000_000_000_000_000n, ctimeNs: 1_700_000_000_000_000_000n, ino: 424242, nlink: n.nlink,
  };
  if (n.type === 'symlink' || n.type === 'hardlink') {
    const to = n.linkTo !== undefined ? pick(entries, n.linkTo) : undefined;
    e.link = to ? Buffer.from(to.path) : renderPath(n.link, c);
  }
  if (n.locFrom !== undefined) {
    const from = pick(entries.filter((x) => x.loc), n.locFrom);
    if (from?.loc) e.loc = { ...from.loc, frames: [...from.loc.frames] };
  }
  if (n.xattrs.length > 0) e.xattrs = n.xattrs;
  return e;
}

function editField(e: IndexEntry, f: FieldEdit, entries: IndexEntry[], b: StoredBackup, c: PathContext): void {
  switch (f.f) {
    case 'path':
      e.path = renderPath(f.p, c);
      break;
    case 'pathOf':
      e.path = Buffer.from(pick(entries, f.j)!.path);
      break;
    case 'type':
      e.type = f.type;
      break;
    case 'mode':
      e.mode = f.mode;
      break;
    case 'perm':
      e.mode = (e.mode & 0o170000) | f.perm;
      break;
    case 'size':
      e.size = f.size;
      break;
    case 'link':
      e.link = renderPath(f.p, c);
      break;
    case 'linkTo':
      e.link = Buffer.from(pick(entries, f.j)!.path);
      break;
    case 'nlink':
      e.nlink = f.n;
      break;
    case 'owner':
      e.uid = f.uid;
      e.gid = f.gid;
      break;
    case 'mtime':
      e.mtimeNs = f.ns;
      break;
    case 'xattrs':
      e.xattrs = f.x;
      break;
    case 'locFrom': {
      const from = pick(entries.filter((x) => x.loc), f.j);
      if (from?.loc) e.loc = { ...from.loc, frames: [...from.loc.frames] };
      break;
    }
    case 'loc': {
      if (f.part === 'drop') {
        delete e.loc;
        break;
      }
      const packs = packKeys(b).map((k) => parsePackKey(k)!.packId);
      e.loc ??= { pack: pick(packs, f.j) ?? newPackId(), seq: 0, offset: 0, frames: [1], skip: 0 };
      if (f.part === 'pack') e.loc.pack = pick(packs, f.j) ?? e.loc.pack;
      if (f.part === 'randomPack') e.loc.pack = newPackId();
      if (f.part === 'seq') e.loc.seq = f.n;
      if (f.part === 'offset') e.loc.offset = f.n;
      if (f.part === 'skip') e.loc.skip = f.n;
      if (f.part === 'frames') e.loc.frames = f.frames;
      break;
    }
  }
}

function applyIndexEdit(entries: IndexEntry[], x: IndexEdit, b: StoredBackup, c: PathContext): void {
  const n = entries.length;
  if (n === 0) return;
  switch (x.e) {
    case 'swap': {
      const [i, j] = [x.i % n, x.j % n];
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      break;
    }
    case 'move': {
      const [e] = entries.splice(x.i % n, 1);
      entries.splice(x.j % n, 0, e!);
      break;
    }
    case 'dup':
      entries.splice(x.i % n, 0, { ...entries[x.i % n]! });
      break;
    case 'drop':
      entries.splice(x.i % n, 1);
      break;
    case 'field': {
      const e = { ...entries[x.i % n]! };
      editField(e, x.edit, entries, b, c);
      entries[x.i % n] = e;
      break;
    }
    case 'insert': {
      const dirs = entries.filter((e) => e.type === 'dir');
      const parent = pick(dirs, x.parent)?.path ?? Buffer.alloc(0);
      const e = makeEntry(joinRel(parent, renderPath(x.name, c)), x.entry, entries, c);
      if (x.sorted) insertSorted(entries, e);
      else entries.splice(x.at % (n + 1), 0, e);
      break;
    }
    case 'linkThrough': {
      const dirs = entries.filter((e) => e.type === 'dir');
      const parent = pick(dirs, x.parent)?.path ?? Buffer.alloc(0);
      const at = joinRel(parent, x.name);
      const link = makeEntry(at, { ...x.entry, type: 'symlink', fmt: undefined, linkTo: undefined }, entries, c);
      link.link = renderPath(x.link, c);
      const child = makeEntry(joinRel(at, x.child), x.entry, entries, c);
      insertSorted(entries, link);
      insertSorted(entries, child);
      break;
    }
  }
}

// --- index text ---------------------------------------------------------------------------------

export type TextEdit =
  | { t: 'replace'; i: number; text: string }
  | { t: 'insert'; i: number; text: string }
  | { t: 'drop'; i: number }
  | { t: 'dup'; i: number }
  | { t: 'bytes'; at: number; data: Buffer }
  | { t: 'longLine'; i: number; n: number }
  | { t: 'header'; field: string; value: Json }
  | { t: 'trailer'; field: string; value: Json };

const entryKeys = ['path', 'pathB64', 'type', 'mode', 'uid', 'gid', 'size', 'mtime', 'ctime', 'ino', 'nlink', 'link', 'linkB64', 'xattrs', 'pack', 'seq', 'offset', 'frames', 'skip', 'torn', 'end', 'entries', 'packs'];
const jsonLineArb: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.constantFrom(...entryKeys), fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('../../x', '/etc/passwd', 'file', 'dir', 'symlink', 'hardlink', '0', '-1', 'Li4v')), { maxKeys: 8 }).map((o) => JSON.stringify(o)),
  fc.string({ maxLength: 60 }),
);

export const textEditArb: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ t: fc.constant('replace' as const), i: fc.nat(), text: jsonLineArb }),
  fc.record({ t: fc.constant('insert' as const), i: fc.nat(), text: jsonLineArb }),
  fc.record({ t: fc.constant('drop' as const), i: fc.nat() }),
  fc.record({ t: fc.constant('dup' as const), i: fc.nat() }),
  fc.record({ t: fc.constant('bytes' as const), at: fc.nat(), data: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a)) }),
  fc.record({ t: fc.constant('longLine' as const), i: fc.nat(), n: fc.constantFrom(1 << 16, (1 << 20) + 10) }),
  fc.record({ t: fc.constant('header' as const), field: fc.constantFrom('cairn', 'version', 'backup', 'volume', 'lineage', 'encrypted'), value: fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('b1', 'data', 'other-cluster.pvc-1', 2, true)) }),
  fc.record({ t: fc.constant('trailer' as const), field: fc.constantFrom('end', 'entries', 'packs'), value: fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom(0, -1, ['../x'], [])) }),
);

function applyTextEdit(text: Buffer, x: TextEdit): Buffer {
  if (x.t === 'bytes') {
    const at = x.at % (text.length + 1);
    return Buffer.concat([text.subarray(0, at), x.data, text.subarray(at)]);
  }
  const lines = text.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const n = Math.max(1, lines.length);
  switch (x.t) {
    case 'replace':
      lines[x.i % n] = x.text;
      break;
    case 'insert':
      lines.splice(x.i % (n + 1), 0, x.text);
      break;
    case 'drop':
      lines.splice(x.i % n, 1);
      break;
    case 'dup':
      lines.splice(x.i % n, 0, lines[x.i % n] ?? '');
      break;
    case 'longLine':
      lines.splice(x.i % (n + 1), 0, JSON.stringify({ path: 'x'.repeat(x.n) }));
      break;
    case 'header':
    case 'trailer': {
      const k = x.t === 'header' ? 0 : lines.length - 1;
      try {
        const o = JSON.parse(lines[k] ?? '{}') as Record<string, unknown>;
        o[x.field] = x.value;
        lines[k] = JSON.stringify(o);
      } catch {
        // not JSON any more: nothing to edit
      }
      break;
    }
  }
  return Buffer.from(lines.map((l) => `${l}\n`).join(''));
}

// --- manifest -----------------------------------------------------------------------------------

export type ManifestEdit =
  | { e: 'top'; field: string; value: Json }
  | { e: 'volume'; field: string; value: Json }
  | { e: 'volumes'; op: 'dup' | 'empty' | 'many' }
  | { e: 'plain' }
  | { e: 'otherKey' };

const specialValues = ['b1', 'b2', '../b1', 'hostile.pvc-2', 'other-cluster.pvc-1', '../../x', 'cairn/v1/backups/b2/volumes/data.index.zst', 'cairn/v1/backups/b1/volumes/data.index.zst', 'data', 'team-b', 'Completed'];
const manifestValueArb = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...specialValues), fc.constantFrom(0, -1, 2 ** 53, true, null));

export const manifestEditArb: fc.Arbitrary<ManifestEdit> = fc.oneof(
  fc.record({ e: fc.constant('top' as const), field: fc.constantFrom('cairn', 'version', 'backup', 'encrypted', 'parent', 'createdAt', 'volumes', 'labels', 'phase', 'hooks', 'namespace', 'keyFingerprint'), value: manifestValueArb }),
  fc.record({ e: fc.constant('volume' as const), field: fc.constantFrom('id', 'lineage', 'index', 'indexSha256', 'entries', 'files', 'bytes', 'packs', 'source', 'storedBytes', 'warnings'), value: manifestValueArb }),
  fc.record({ e: fc.constant('volumes' as const), op: fc.constantFrom('dup' as const, 'empty' as const, 'many' as const) }),
  fc.constant({ e: 'plain' as const }),
  fc.constant({ e: 'otherKey' as const }),
);

function applyManifestEdit(b: StoredBackup, x: ManifestEdit): void {
  const m = readManifest(b);
  const vols = Array.isArray(m.volumes) ? (m.volumes as Array<Record<string, unknown>>) : [];
  switch (x.e) {
    case 'top':
      m[x.field] = x.value;
      break;
    case 'volume':
      if (vols[0]) vols[0][x.field] = x.value;
      break;
    case 'volumes':
      m.volumes = x.op === 'empty' ? [] : x.op === 'dup' ? [...vols, ...vols] : Array.from({ length: 50 }, () => vols[0] ?? {});
      break;
    case 'plain':
      writeManifest(b, m, false);
      return;
    case 'otherKey':
      b.objects.set(b.manifestKey, encodeManifest(m as unknown as Manifest, b.manifestKey, randomBytes(32)));
      return;
  }
  writeManifest(b, m);
}

// --- all mutations ------------------------------------------------------------------------------

export type Mutation =
  | { m: 'flip'; obj: number; at: number; bit: number }
  | { m: 'truncate'; obj: number; at: number }
  | { m: 'append'; obj: number; data: Buffer }
  | { m: 'overwrite'; obj: number; at: number; data: Buffer }
  | { m: 'splice'; obj: number; from: number; at: number; fromAt: number; len: number }
  | { m: 'copyObject'; obj: number; from: number }
  | { m: 'deleteObject'; obj: number }
  | { m: 'storedFrames'; pack: number; op: 'swap' | 'drop' | 'dup' | 'reverse' | 'fromOther'; i: number; j: number; other: number }
  | { m: 'packFrame'; pack: number; i: number; frame: FrameSpec; fixIndex: boolean }
  | { m: 'index'; edits: IndexEdit[]; chunkBytes: number }
  | { m: 'indexText'; edits: TextEdit[]; chunkBytes: number }
  | { m: 'indexFrames'; i: number; frame: FrameSpec; op: 'replace' | 'insert' }
  | { m: 'manifest'; edit: ManifestEdit };

const chunkArb = fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 200, max: 1 << 20 }));
const bytesArb = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a));

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ m: fc.constant('flip' as const), obj: fc.nat(), at: fc.nat(), bit: fc.nat(7) }), weight: 3 },
  { arbitrary: fc.record({ m: fc.constant('truncate' as const), obj: fc.nat(), at: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ m: fc.constant('append' as const), obj: fc.nat(), data: bytesArb }), weight: 1 },
  { arbitrary: fc.record({ m: fc.constant('overwrite' as const), obj: fc.nat(), at: fc.nat(), data: bytesArb }), weight: 1 },
  { arbitrary: fc.record({ m: fc.constant('splice' as const), obj: fc.nat(), from: fc.nat(), at: fc.nat(), fromAt: fc.nat(), len: fc.integer({ min: 1, max: 4096 }) }), weight: 1 },
  { arbitrary: fc.record({ m: fc.constant('copyObject' as const), obj: fc.nat(), from: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ m: fc.constant('deleteObject' as const), obj: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ m: fc.constant('storedFrames' as const), pack: fc.nat(), op: fc.constantFrom('swap' as const, 'drop' as const, 'dup' as const, 'reverse' as const, 'fromOther' as const), i: fc.nat(), j: fc.nat(), other: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ m: fc.constant('packFrame' as const), pack: fc.nat(), i: fc.nat(), frame: frameSpecArb, fixIndex: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ m: fc.constant('index' as const), edits: fc.array(indexEditArb, { minLength: 1, maxLength: 4 }), chunkBytes: chunkArb }), weight: 10 },
  { arbitrary: fc.record({ m: fc.constant('indexText' as const), edits: fc.array(textEditArb, { minLength: 1, maxLength: 3 }), chunkBytes: chunkArb }), weight: 3 },
  { arbitrary: fc.record({ m: fc.constant('indexFrames' as const), i: fc.nat(), frame: frameSpecArb, op: fc.constantFrom('replace' as const, 'insert' as const) }), weight: 2 },
  { arbitrary: fc.record({ m: fc.constant('manifest' as const), edit: manifestEditArb }), weight: 2 },
);

/** Stored frames of a pack as they are in the object (not opened), or undefined when unsplittable. */
function storedFrames(b: StoredBackup, raw: Buffer, key: string): Buffer[] | undefined {
  if (!b.key) {
    try {
      return [...splitFrames(raw, key)].map((f) => Buffer.from(f));
    } catch {
      return undefined;
    }
  }
  const out: Buffer[] = [];
  for (let pos = 0; pos < raw.length;) {
    if (raw.length - pos < 4) return undefined;
    const len = 4 + raw.readUInt32BE(pos);
    if (pos + len > raw.length) return undefined;
    out.push(raw.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** Applies one mutation; false when it could not apply (an earlier one made its target unreadable). */
export function applyMutation(b: StoredBackup, x: Mutation, c: PathContext): boolean {
  const keys = [...b.objects.keys()].sort();
  const obj = (i: number): string | undefined => pick(keys, i);
  try {
    switch (x.m) {
      case 'flip': {
        const k = obj(x.obj);
        const v = k ? b.objects.get(k) : undefined;
        if (!k || !v || v.length === 0) return false;
        const out = Buffer.from(v);
        out[x.at % v.length] = out[x.at % v.length]! ^ (1 << x.bit);
        b.objects.set(k, out);
        return true;
      }
      case 'truncate': {
        const k = obj(x.obj);
        const v = k ? b.objects.get(k) : undefined;
        if (!k || !v) return false;
        b.objects.set(k, v.subarray(0, x.at % (v.length + 1)));
        return true;
      }
      case 'append': {
        const k = obj(x.obj);
        if (!k) return false;
        b.objects.set(k, Buffer.concat([b.objects.get(k)!, x.data]));
        return true;
      }
      case 'overwrite': {
        const k = obj(x.obj);
        const v = k ? b.objects.get(k) : undefined;
        if (!k || !v || v.length === 0) return false;
        const out = Buffer.from(v);
        x.data.copy(out, x.at % v.length);
        b.objects.set(k, out);
        return true;
      }
      case 'splice': {
        const [k, f] = [obj(x.obj), obj(x.from)];
        if (!k || !f) return false;
        const v = b.objects.get(k)!;
        const src = b.objects.get(f)!;
        if (src.length === 0) return false;
        const from = x.fromAt % src.length;
        const piece = src.subarray(from, from + x.len);
        const at = x.at % (v.length + 1);
        b.objects.set(k, Buffer.concat([v.subarray(0, at), piece, v.subarray(Math.min(v.length, at + piece.length))]));
        return true;
      }
      case 'copyObject': {
        const [k, f] = [obj(x.obj), obj(x.from)];
        if (!k || !f || k === f) return false;
        b.objects.set(k, Buffer.from(b.objects.get(f)!));
        return true;
      }
      case 'deleteObject': {
        const k = obj(x.obj);
        if (!k) return false;
        b.objects.delete(k);
        return true;
      }
      case 'storedFrames': {
        const packs = packKeys(b);
        const k = pick(packs, x.pack);
        if (!k) return false;
        const frames = storedFrames(b, b.objects.get(k)!, k);
        if (!frames || frames.length === 0) return false;
        const [i, j] = [x.i % frames.length, x.j % frames.length];
        switch (x.op) {
          case 'swap':
            [frames[i], frames[j]] = [frames[j]!, frames[i]!];
            break;
          case 'drop':
            frames.splice(i, 1);
            break;
          case 'dup':
            frames.splice(i, 0, frames[i]!);
            break;
          case 'reverse':
            frames.reverse();
            break;
          case 'fromOther': {
            const ok = pick(packs, x.other)!;
            const others = storedFrames(b, b.objects.get(ok)!, ok);
            if (!others || others.length === 0) return false;
            frames[i] = others[x.j % others.length]!;
            break;
          }
        }
        b.objects.set(k, Buffer.concat(frames));
        return true;
      }
      case 'packFrame': {
        const k = pick(packKeys(b), x.pack);
        if (!k) return false;
        const frames = readPack(b, k);
        if (frames.length === 0) return false;
        frames[x.i % frames.length] = buildFrame(x.frame, c);
        const sizes = writePack(b, k, frames);
        if (x.fixIndex) {
          const idx = readIndex(b);
          relocate(idx.entries, parsePackKey(k)!.packId, sizes);
          writeIndex(b, idx, 1 << 20);
        }
        return true;
      }
      case 'index': {
        const idx = readIndex(b);
        for (const e of x.edits) applyIndexEdit(idx.entries, e, b, c);
        writeIndex(b, idx, x.chunkBytes);
        return true;
      }
      case 'indexText': {
        let text = readIndexText(b);
        for (const e of x.edits) text = applyTextEdit(text, e);
        writeIndexText(b, text, x.chunkBytes);
        return true;
      }
      case 'indexFrames': {
        const frames = indexFrames(b);
        const i = x.i % (frames.length + (x.op === 'insert' ? 1 : 0));
        frames.splice(i, x.op === 'replace' ? 1 : 0, buildFrame(x.frame, c));
        writeIndexFrames(b, frames);
        return true;
      }
      case 'manifest':
        applyManifestEdit(b, x.edit);
        return true;
    }
  } catch {
    // The target was made unreadable by an earlier mutation (a forger cannot parse it either).
    return false;
  }
}
