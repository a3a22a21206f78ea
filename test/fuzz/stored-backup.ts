// A backup's objects as a forger with write access to the bucket (and, for an encrypted backup,
// the tenant's key: the tenant owns both) sees them: the manifest as JSON, the index as text
// lines or entries, each pack as its list of zstd frames. Writers re-seal what they change and
// fix the index SHA-256 in the manifest, so a forgery passes every integrity check and reaches
// the restore's own checks.
import { createHash } from 'node:crypto';
import { CairnError } from '../../common/src/errors.ts';
import { decodeEntry, encodeEntry, type IndexEntry } from '../../common/src/format/index-entry.ts';
import { parsePackKey } from '../../common/src/format/layout.ts';
import { encodeManifest, type Manifest } from '../../common/src/format/manifest.ts';
import { ObjectSealer, openFrame, openObject, packContext, packKey, sealFrame } from '../../common/src/format/seal.ts';
import { compressFrame, decompressFrame, splitFrames } from '../../common/src/format/zstd-frame.ts';

export interface StoredBackup {
  objects: Map<string, Buffer>;
  key: Buffer | undefined;
  backup: string;
  lineage: string;
  manifestKey: string;
  indexKey: string;
}

const readerLimits = { maxFrameBytes: 64 << 20, maxRatio: Number.POSITIVE_INFINITY };

function object(b: StoredBackup, key: string): Buffer {
  const v = b.objects.get(key);
  if (!v) throw new Error(`forgery: no object ${key}`);
  return v;
}

export function readManifest(b: StoredBackup): Record<string, unknown> {
  const outer = JSON.parse(object(b, b.manifestKey).toString('utf8')) as Record<string, unknown>;
  if (outer.encrypted === true && b.key && typeof outer.sealed === 'string') {
    return JSON.parse(openObject(b.key, b.manifestKey, Buffer.from(outer.sealed, 'base64')).map((x) => x.toString('utf8')).join('')) as Record<string, unknown>;
  }
  return outer;
}

/** Writes the manifest (sealed with the backup's key unless `seal` is false). */
export function writeManifest(b: StoredBackup, m: Record<string, unknown>, seal = true): void {
  b.objects.set(b.manifestKey, encodeManifest(m as unknown as Manifest, b.manifestKey, seal ? b.key : undefined));
}

/** The index object's zstd frames (opened when sealed). */
export function indexFrames(b: StoredBackup): Buffer[] {
  const raw = object(b, b.indexKey);
  return b.key ? openObject(b.key, b.indexKey, raw) : [...splitFrames(raw, b.indexKey)];
}

export function readIndexText(b: StoredBackup): Buffer {
  return Buffer.concat(indexFrames(b).map((f) => decompressFrame(f, readerLimits, b.indexKey)));
}

/** Stores these frames as the index (sealed when the backup is) and fixes the manifest's SHA-256. */
export function writeIndexFrames(b: StoredBackup, frames: Buffer[]): void {
  let body: Buffer;
  if (b.key) {
    const sealer = new ObjectSealer(b.key, b.indexKey);
    body = Buffer.concat([sealer.header, ...frames.map((f, i) => sealer.seal(f, i === frames.length - 1))]);
  } else {
    body = Buffer.concat(frames);
  }
  b.objects.set(b.indexKey, body);
  try {
    const m = readManifest(b);
    const vols = m.volumes as Array<Record<string, unknown>>;
    for (const v of vols) if (v.index === b.indexKey) v.indexSha256 = createHash('sha256').update(body).digest('hex');
    writeManifest(b, m);
  } catch {
    // the manifest was already broken by an earlier mutation: leave it so
  }
}

/**
 * The index text cut into chunks of `chunkBytes` (anywhere, not only at line ends), one frame
 * each; at most 20000 frames, so that one case stays cheap to forge.
 */
export function writeIndexText(b: StoredBackup, text: Buffer, chunkBytes: number): void {
  const step = Math.max(1, chunkBytes, Math.ceil(text.length / 20_000));
  const frames: Buffer[] = [];
  for (let pos = 0; pos < text.length; pos += step) frames.push(compressFrame(text.subarray(pos, pos + step), 1));
  if (frames.length === 0) frames.push(compressFrame(Buffer.alloc(0), 1));
  writeIndexFrames(b, frames);
}

export interface IndexParts {
  header: string;
  entries: IndexEntry[];
  trailer: Record<string, unknown>;
}

export function readIndex(b: StoredBackup): IndexParts {
  const lines = readIndexText(b).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 2) throw new Error('forgery: index too short');
  const trailer = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  return { header: lines[0]!, entries: lines.slice(1, -1).map((l, i) => decodeEntry(l, `line ${i + 2}`)), trailer };
}

/** Writes entries with the given header; the trailer's count is made to match. */
export function writeIndex(b: StoredBackup, p: IndexParts, chunkBytes: number): void {
  const trailer = JSON.stringify({ ...p.trailer, end: true, entries: p.entries.length });
  const text = [p.header, ...p.entries.map(encodeEntry), trailer].join('\n') + '\n';
  writeIndexText(b, Buffer.from(text), chunkBytes);
}

export function packKeys(b: StoredBackup): string[] {
  return [...b.objects.keys()].filter((k) => parsePackKey(k) !== undefined).sort();
}

/** A pack's zstd frames (opened when sealed); an unencrypted pack's end-of-archive frame included. */
export function readPack(b: StoredBackup, key: string): Buffer[] {
  const raw = object(b, key);
  if (!b.key) return [...splitFrames(raw, key)];
  const id = parsePackKey(key)!.packId;
  const k = packKey(b.key, id);
  const out: Buffer[] = [];
  for (let pos = 0, seq = 0; pos < raw.length; seq++) {
    const f = openFrame(k, packContext(b.lineage, id), seq, raw.subarray(pos), key);
    out.push(f.plaintext);
    pos += f.consumed;
  }
  return out;
}

/** Writes a pack from zstd frames (sealed in order when encrypted); returns each frame's stored size. */
export function writePack(b: StoredBackup, key: string, frames: Buffer[]): number[] {
  const parsed = parsePackKey(key);
  if (!parsed) throw new CairnError('CAIRN_E_INTERNAL', `forgery: ${key} is not a pack`);
  const stored = b.key ? frames.map((f, seq) => sealFrame(packKey(b.key!, parsed.packId), packContext(b.lineage, parsed.packId), seq, false, f)) : frames;
  b.objects.set(key, Buffer.concat(stored));
  return stored.map((s) => s.length);
}

/** After a pack's frames changed size: every entry pointing into it gets the new offsets and sizes. */
export function relocate(entries: IndexEntry[], packId: string, sizes: number[]): void {
  const offsets: number[] = [];
  let pos = 0;
  for (const s of sizes) {
    offsets.push(pos);
    pos += s;
  }
  for (const e of entries) {
    if (e.loc?.pack !== packId || e.loc.seq >= sizes.length) continue;
    e.loc.offset = offsets[e.loc.seq]!;
    e.loc.frames = e.loc.frames.map((old, i) => sizes[e.loc!.seq + i] ?? old);
  }
}
