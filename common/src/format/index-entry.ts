// One line of a volume's index: a file system entry and, for file data, where its bytes are.
// Encoded as JSON; paths and link targets are raw bytes, written as UTF-8 text when they are
// valid UTF-8 and as base64 (`pathB64`, `linkB64`) otherwise. Decoding treats every line as
// hostile: each field is type-checked and an entry that does not parse fails the restore.
import { CairnError } from '../errors.ts';
import { checkPackId } from './layout.ts';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface DataLocation {
  pack: string;
  /** Sequence number of the first frame in the pack (the nonce of an encrypted frame). */
  seq: number;
  /** Byte offset of the first frame in the pack. */
  offset: number;
  /** Stored size of each frame the data spans, in order. */
  frames: number[];
  /** Decompressed bytes in the first frame before the file's data starts. */
  skip: number;
}

export interface IndexEntry {
  path: Buffer;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: number;
  nlink: number;
  /** Symlink target, or the path of the first link of a hardlinked file. */
  link?: Buffer;
  xattrs?: Array<[string, Buffer]>;
  loc?: DataLocation;
  /** The file changed while it was read: its stored bytes may be torn. */
  torn?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bytesField(obj: Record<string, unknown>, name: string, b: Buffer): void {
  try {
    obj[name] = utf8.decode(b);
  } catch {
    obj[`${name}B64`] = b.toString('base64');
  }
}

export function encodeEntry(e: IndexEntry): string {
  const o: Record<string, unknown> = {};
  bytesField(o, 'path', e.path);
  o.type = e.type;
  o.mode = e.mode;
  o.uid = e.uid;
  o.gid = e.gid;
  o.size = e.size;
  o.mtime = e.mtimeNs.toString();
  o.ctime = e.ctimeNs.toString();
  o.ino = e.ino;
  o.nlink = e.nlink;
  if (e.link) bytesField(o, 'link', e.link);
  if (e.xattrs && e.xattrs.length > 0) o.xattrs = Object.fromEntries(e.xattrs.map(([k, v]) => [k, v.toString('base64')]));
  if (e.loc) {
    o.pack = e.loc.pack;
    o.seq = e.loc.seq;
    o.offset = e.loc.offset;
    o.frames = e.loc.frames;
    o.skip = e.loc.skip;
  }
  if (e.torn) o.torn = true;
  return JSON.stringify(o);
}

function fail(where: string, msg: string): never {
  throw new CairnError('CAIRN_E_FORMAT', `${where}: ${msg}`);
}

function uint(o: Record<string, unknown>, k: string, where: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) fail(where, `field ${k} must be an integer in 0..${max}`);
  return v;
}

function nanos(o: Record<string, unknown>, k: string, where: string): bigint {
  const v = o[k];
  if (typeof v !== 'string' || !/^-?[0-9]{1,20}$/.test(v)) fail(where, `field ${k} must be a decimal string of nanoseconds`);
  return BigInt(v);
}

function bytes(o: Record<string, unknown>, k: string, where: string): Buffer | undefined {
  const s = o[k];
  const b64 = o[`${k}B64`];
  if (typeof s === 'string') return Buffer.from(s, 'utf8');
  if (typeof b64 === 'string') return Buffer.from(b64, 'base64');
  if (s !== undefined || b64 !== undefined) fail(where, `field ${k} must be a string`);
  return undefined;
}

const types: ReadonlySet<string> = new Set(['file', 'dir', 'symlink', 'hardlink']);

/** Parses one index line; `where` names the index and line in errors. */
export function decodeEntry(line: string, where: string): IndexEntry {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    fail(where, 'not JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail(where, 'not a JSON object');
  const r = o as Record<string, unknown>;
  const path = bytes(r, 'path', where);
  if (path === undefined) fail(where, 'no path');
  const type = r.type;
  if (typeof type !== 'string' || !types.has(type)) fail(where, `type must be one of file, dir, symlink, hardlink (got ${JSON.stringify(type)})`);
  const e: IndexEntry = {
    path, type: type as EntryType,
    mode: uint(r, 'mode', where, 0o177777), uid: uint(r, 'uid', where, 0xffffffff), gid: uint(r, 'gid', where, 0xffffffff),
    size: uint(r, 'size', where), mtimeNs: nanos(r, 'mtime', where), ctimeNs: nanos(r, 'ctime', where),
    ino: uint(r, 'ino', where), nlink: uint(r, 'nlink', where),
  };
  const link = bytes(r, 'link', where);
  if (link) e.link = link;
  if (r.xattrs !== undefined) {
    if (typeof r.xattrs !== 'object' || r.xattrs === null || Array.isArray(r.xattrs)) fail(where, 'xattrs must be an object');
    e.xattrs = Object.entries(r.xattrs as Record<string, unknown>).map(([k, v]) => {
      if (typeof v !== 'string') fail(where, `xattr ${k} must be base64 text`);
      return [k, Buffer.from(v, 'base64')] as [string, Buffer];
    });
  }
  if (r.pack !== undefined) {
    if (typeof r.pack !== 'string') fail(where, 'pack must be a string');
    try {
      checkPackId(r.pack);
    } catch {
      fail(where, `pack ${JSON.stringify(r.pack.slice(0, 80))} is not a pack id`);
    }
    const frames = r.frames;
    if (!Array.isArray(frames) || frames.length === 0 || frames.length > 1 << 20 || !frames.every((f) => Number.isSafeInteger(f) && (f as number) > 0)) {
      fail(where, 'frames must be a non-empty list of positive sizes');
    }
    e.loc = { pack: r.pack, seq: uint(r, 'seq', where), offset: uint(r, 'offset', where), frames: frames as number[], skip: uint(r, 'skip', where) };
  }
  if (r.torn === true) e.torn = true;
  return e;
}
