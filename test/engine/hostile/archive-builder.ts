// Forged backups for the hostile-input suites: a backup written straight into the store with the
// format codecs (tar headers, zstd frames, sealing, index, manifest), not with the engine's
// backup(), so any entry the tenant could write into their bucket can be expressed: raw byte
// paths, any mode and type, any link target, any data location, any entry order.
//
//   await forged().root().dir('a').file('a/x', bytes).symlink('l', 'a').hardlink('h', 'a/x')
//     .raw((e) => { e.mode |= 0o4000; }).withKey(key).write(store, 'b1');
//
// Entries go into the index in the order they are added (nothing is sorted or checked here).
// File data goes into the current pack: the file's tar header, its bytes and padding, cut into
// frames of `frameBytes`; headers of entries without data share a frame of their own. `raw`
// mutators run after the layout, so they can also change where an entry's data is.
import { randomBytes } from 'node:crypto';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import { IndexWriter, type IndexHeader } from '../../../common/src/format/index-object.ts';
import { checkKey, keyFingerprint, packContext, packKey, sealFrame } from '../../../common/src/format/seal.ts';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarEntry } from '../../../common/src/format/tar-header.ts';
import { compressFrame } from '../../../common/src/format/zstd-frame.ts';
import { encodeManifest, type Manifest, type VolumeRecord } from '../../../common/src/format/manifest.ts';
import { indexKey, lineageId, manifestKey, newPackId, packKeyOf } from '../../../common/src/format/layout.ts';
import type { Secret } from '../../../common/src/secret.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

export type Bytes = string | Buffer;
export const bytesOf = (p: Bytes): Buffer => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p);

/** The lineage every forged backup uses unless told otherwise. */
export const forgedLineage = lineageId({ clusterUid: 'hostile-cluster', pvcUid: 'pvc-1' });

const MTIME_NS = 1_700_000_000_123_456_789n;

export interface EntryOptions extends Partial<Omit<IndexEntry, 'path' | 'link'>> {
  /** Header bytes written into the pack before the entry's data instead of its real tar header. */
  tarHeader?: Buffer;
}

interface Draft {
  entry: IndexEntry;
  /** File bytes laid out in the pack. */
  data?: Buffer;
  /** Ready zstd frames (not yet sealed) holding the data, and the offset of the data in the first. */
  frames?: { frames: Buffer[]; skip: number };
  tarHeader?: Buffer;
  /** Starts a new pack before this entry's data. */
  newPack: boolean;
  fixes: Array<(e: IndexEntry, b: ForgedLayout) => void>;
}

export interface ForgedPack {
  id: string;
  /** Object key relative to the store's prefix. */
  key: string;
  size: number;
  /** Stored size of each frame, in order (sealed size when encrypted). */
  frames: number[];
}

export interface ForgedLayout {
  lineage: string;
  packs: ForgedPack[];
}

export interface ForgedBackup extends ForgedLayout {
  backup: string;
  volumeId: string;
  manifestKey: string;
  indexKey: string;
  indexSha256: string;
  /** The entries as written into the index. */
  entries: IndexEntry[];
  manifest: Manifest;
}

export class ArchiveBuilder {
  private readonly drafts: Draft[] = [];
  private key: Buffer | undefined;
  private lineageValue = forgedLineage;
  private volumeId = 'data';
  private frameBytes = 64 << 10;
  private nextPack = false;
  private ino = 100;
  private readonly orderFns: Array<(entries: IndexEntry[]) => IndexEntry[]> = [];
  private readonly manifestFns: Array<(m: Manifest) => void> = [];
  private headerOver: Partial<IndexHeader> = {};

  private add(path: Bytes, type: IndexEntry['type'], fmt: number, perm: number, o: EntryOptions, extra: Partial<Draft> = {}): this {
    const { tarHeader, ...over } = o;
    const entry: IndexEntry = {
      path: bytesOf(path), type, mode: fmt | perm, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, size: 0,
      mtimeNs: MTIME_NS, ctimeNs: MTIME_NS, ino: this.ino++, nlink: type === 'dir' ? 2 : 1, ...over,
    };
    this.drafts.push({ entry, newPack: this.nextPack, fixes: [], ...(tarHeader ? { tarHeader } : {}), ...extra });
    this.nextPack = false;
    return this;
  }

  /** The root directory (path ''), the first entry of every index. */
  root(mode = 0o755, o: EntryOptions = {}): this {
    return this.add(Buffer.alloc(0), 'dir', S_IFDIR, mode, o);
  }

  dir(path: Bytes, mode = 0o755, o: EntryOptions = {}): this {
    return this.add(path, 'dir', S_IFDIR, mode, o);
  }

  /** A regular file whose bytes are laid out in the current pack. */
  file(path: Bytes, data: Buffer, mode = 0o644, o: EntryOptions = {}): this {
    return this.add(path, 'file', S_IFREG, mode, { size: data.length, ...o }, data.length > 0 ? { data } : {});
  }

  /** A file whose data is given as ready zstd frames (sealed here when a key is set). */
  fileFrames(path: Bytes, size: number, frames: Buffer[], o: EntryOptions & { skip?: number } = {}): this {
    const { skip = 0, ...rest } = o;
    return this.add(path, 'file', S_IFREG, 0o644, { size, ...rest }, { frames: { frames, skip } });
  }

  symlink(path: Bytes, target: Bytes, o: EntryOptions = {}): this {
    this.add(path, 'symlink', S_IFLNK, 0o777, o);
    this.last().entry.link = bytesOf(target);
    return this;
  }

  hardlink(path: Bytes, target: Bytes, o: EntryOptions = {}): this {
    this.add(path, 'hardlink', S_IFREG, 0o644, { nlink: 2, ...o });
    this.last().entry.link = bytesOf(target);
    return this;
  }

  /** Any entry at all: every field as given (defaults: a 0644 regular file, no data). */
  entry(path: Bytes, o: EntryOptions & { link?: Bytes; data?: Buffer } = {}): this {
    const { link, data, ...rest } = o;
    this.add(path, rest.type ?? 'file', 0, rest.mode ?? S_IFREG | 0o644, rest, data ? { data } : {});
    if (link !== undefined) this.last().entry.link = bytesOf(link);
    return this;
  }

  /** Changes the last entry after the layout (its `loc` is known then). */
  raw(fix: (e: IndexEntry, layout: ForgedLayout) => void): this {
    this.last().fixes.push(fix);
    return this;
  }

  /** Rearranges the final list of entries (reorder, duplicate, drop) before the index is written. */
  order(fn: (entries: IndexEntry[]) => IndexEntry[]): this {
    this.orderFns.push(fn);
    return this;
  }

  /** The next entry's data starts a new pack. */
  newPack(): this {
    this.nextPack = true;
    return this;
  }

  withKey(key: Buffer | Secret<Buffer>): this {
    this.key = Buffer.isBuffer(key) ? key : checkKey(key);
    return this;
  }

  lineage(id: string): this {
    this.lineageValue = id;
    return this;
  }

  volume(id: string): this {
    this.volumeId = id;
    return this;
  }

  frameSize(n: number): this {
    this.frameBytes = n;
    return this;
  }

  /** Overrides fields of the index header (which backup, volume and lineage it claims). */
  indexHeader(h: Partial<IndexHeader>): this {
    this.headerOver = { ...this.headerOver, ...h };
    return this;
  }

  /** Changes the manifest before it is encoded (its index SHA-256 is filled in already). */
  manifest(fn: (m: Manifest) => void): this {
    this.manifestFns.push(fn);
    return this;
  }

  private last(): Draft {
    const d = this.drafts[this.drafts.length - 1];
    if (!d) throw new Error('archive builder: no entry yet');
    return d;
  }

  async write(store: ObjectStore, backup: string): Promise<ForgedBackup> {
    const lineage = this.lineageValue;
    const layout: ForgedLayout = { lineage, packs: [] };
    const packBodies: Buffer[][] = [];
    let pack: { p: ForgedPack; body: Buffer[]; key: Buffer | undefined } | undefined;
    let headers: Buffer[] = [];

    const openPack = (): NonNullable<typeof pack> => {
      const id = newPackId();
      const p: ForgedPack = { id, key: packKeyOf(lineage, id), size: 0, frames: [] };
      layout.packs.push(p);
      const body: Buffer[] = [];
      packBodies.push(body);
      pack = { p, body, key: this.key ? packKey(this.key, id) : undefined };
      return pack;
    };
    /** Appends one compressed frame; returns its sequence number and offset. */
    const putFrame = (compressed: Buffer): { seq: number; offset: number; size: number } => {
      const cur = pack ?? openPack();
      const seq = cur.p.frames.length;
      const stored = cur.key ? sealFrame(cur.key, packContext(lineage, cur.p.id), seq, false, compressed) : compressed;
      const at = { seq, offset: cur.p.size, size: stored.length };
      cur.body.push(stored);
      cur.p.frames.push(stored.length);
      cur.p.size += stored.length;
      return at;
    };
    const flushHeaders = (): void => {
      if (headers.length === 0) return;
      putFrame(compressFrame(Buffer.concat(headers), 3));
      headers = [];
    };
    const closePack = (): void => {
      flushHeaders();
      if (pack && !pack.key) {
        // Like the engine's writer: an unencrypted pack ends as a tar archive does.
        const end = compressFrame(END_OF_ARCHIVE, 1);
        pack.body.push(end);
        pack.p.size += end.length;
      }
      pack = undefined;
    };

    for (const d of this.drafts) {
      if (d.newPack && pack) closePack();
      const e = d.entry;
      const header = d.tarHeader ?? (e.path.length > 0 ? encodeHeader(tarEntryOf(e)) : Buffer.alloc(0));
      if (d.data === undefined && d.frames === undefined) {
        headers.push(header);
        continue;
      }
      flushHeaders();
      let frames: Buffer[];
      let skip: number;
      if (d.frames) {
        frames = d.frames.frames;
        skip = d.frames.skip;
      } else {
        const data = d.data!;
        const tar = Buffer.concat([header, data, Buffer.alloc(padding(data.length))]);
        frames = [];
        for (let pos = 0; pos < tar.length; pos += this.frameBytes) frames.push(compressFrame(tar.subarray(pos, pos + this.frameBytes), 3));
        skip = header.length;
        // The data starts in a later frame when the header fills whole frames.
        while (skip >= this.frameBytes) {
          frames.shift();
          skip -= this.frameBytes;
        }
      }
      const placed = frames.map(putFrame);
      e.loc = { pack: pack!.p.id, seq: placed[0]!.seq, offset: placed[0]!.offset, frames: placed.map((f) => f.size), skip };
    }
    closePack();
    for (const d of this.drafts) for (const fix of d.fixes) fix(d.entry, layout);

    let entries = this.drafts.map((d) => d.entry);
    for (const fn of this.orderFns) entries = fn(entries);

    for (const [i, p] of layout.packs.entries()) await store.putObject(p.key, Buffer.concat(packBodies[i]!));

    const idxKey = indexKey(backup, this.volumeId);
    const chunks: Buffer[] = [];
    const index = new IndexWriter({
      objectKey: idxKey, header: { backup, volume: this.volumeId, lineage, ...this.headerOver }, ...(this.key ? { key: this.key } : {}),
      out: async (c) => {
        chunks.push(Buffer.from(c));
        await Promise.resolve();
      },
    });
    for (const e of entries) await index.add(e);
    const summary = await index.finish(layout.packs.map((p) => p.id));
    await store.putObject(idxKey, Buffer.concat(chunks));

    const files = entries.filter((e) => e.type === 'file' || e.type === 'hardlink').length;
    const volume: VolumeRecord = {
      id: this.volumeId, lineage, index: idxKey, indexSha256: summary.sha256, entries: summary.entries, files,
      bytes: entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0),
      storedBytes: summary.bytes + layout.packs.reduce((n, p) => n + p.size, 0), packs: summary.packs, warnings: 0,
    };
    const now = new Date().toISOString();
    const manifest: Manifest = {
      cairn: 'backup-manifest', version: 1, backup, createdAt: now, completedAt: now, encrypted: this.key !== undefined,
      ...(this.key ? { keyFingerprint: keyFingerprint(this.key) } : {}), volumes: [volume],
    };
    for (const fn of this.manifestFns) fn(manifest);
    const mk = manifestKey(backup);
    await store.putObject(mk, encodeManifest(manifest, mk, this.key));
    return { ...layout, backup, volumeId: this.volumeId, manifestKey: mk, indexKey: idxKey, indexSha256: summary.sha256, entries, manifest };
  }
}

function tarEntryOf(e: IndexEntry): TarEntry {
  return {
    name: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, mtimeSeconds: Number(e.mtimeNs / 1_000_000_000n),
    ...(e.link ? { linkname: e.link } : {}), ...(e.xattrs ? { xattrs: e.xattrs } : {}),
  };
}

export const forged = (): ArchiveBuilder => new ArchiveBuilder();

/** Deterministic incompressible bytes (xorshift), so frames of equal length have equal sizes. */
export function noise(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A fresh 32-byte tenant key. */
export const newTenantKey = (): Buffer => randomBytes(32);

/**
 * A bare ustar header block with any type flag (e.g. GNU 'L' long name, 'x' PAX), for packs whose
 * tar stream lies about names: the engine must take names from the index, never from the pack.
 */
export function rawTarHeader(name: Buffer, typeflag: string, size: number, mode = 0o644): Buffer {
  const h = Buffer.alloc(512);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  const octal = (off: number, width: number, v: number): void => {
    h.write(v.toString(8).padStart(width - 1, '0'), off, width - 1, 'latin1');
  };
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  h.fill(0x20, 148, 156);
  h.write(typeflag, 156, 1, 'latin1');
  h.write('ustar\u000000', 257, 8, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** A data block sequence (`data` then zero padding to 512 bytes), as follows a header. */
export const tarData = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc(padding(data.length))]);
