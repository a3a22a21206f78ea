// Tar headers (POSIX ustar, with PAX extended headers where ustar cannot say it) written byte by
// byte: names and link targets are raw bytes, not strings, so a file name that is not UTF-8
// round-trips exactly, and the writer knows each entry's offset (tar-stream's pack takes names
// as strings and hides offsets; see docs/format.md).

export const BLOCK = 512;

export type TarType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TarEntry {
  /** Relative path, raw bytes, no trailing slash. */
  name: Buffer;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  /** Data bytes that follow the header (files only). */
  size: number;
  mtimeSeconds: number;
  /** Symlink target or hardlink source path (raw bytes). */
  linkname?: Buffer;
  /** Extended attributes, as GNU tar's SCHILY.xattr records. */
  xattrs?: ReadonlyArray<readonly [string, Buffer]>;
}

const typeflag: Record<TarType, number> = { file: 0x30, hardlink: 0x31, symlink: 0x32, dir: 0x35 };
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  buf.write(digits, offset, width - 1, 'latin1');
  buf[offset + width - 1] = 0;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = 1 + Buffer.byteLength(key) + 1 + value.length + 1;
  const digits = String(body).length;
  let len = body + digits;
  if (String(len).length !== digits) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

/** Length of the data padding that follows `size` bytes of entry data. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/** Writes a ustar header block into `h` at `at` (the 512 bytes are cleared first). */
function ustarInto(h: Buffer, at: number, name: Buffer, flag: number, e: TarEntry, size: number, linkname: Buffer): void {
  h.fill(0, at, at + BLOCK);
  name.copy(h, at, 0, Math.min(name.length, 100));
  writeOctal(h, at + 100, 8, e.mode & 0o7777);
  writeOctal(h, at + 108, 8, Math.min(e.uid, MAX_OCTAL_8));
  writeOctal(h, at + 116, 8, Math.min(e.gid, MAX_OCTAL_8));
  writeOctal(h, at + 124, 12, Math.min(size, MAX_OCTAL_12));
  writeOctal(h, at + 136, 12, Math.max(0, Math.min(Math.floor(e.mtimeSeconds), MAX_OCTAL_12)));
  h.fill(0x20, at + 148, at + 156);
  h[at + 156] = flag;
  linkname.copy(h, at + 157, 0, Math.min(linkname.length, 100));
  h.write('ustar\u000000', at + 257, 8, 'latin1');
  let sum = 0;
  for (let i = at; i < at + BLOCK; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0'), at + 148, 6, 'latin1');
  h[at + 154] = 0;
  h[at + 155] = 0x20;
}

function ustarHeader(name: Buffer, flag: number, e: TarEntry, size: number, linkname: Buffer): Buffer {
  const h = Buffer.alloc(BLOCK);
  ustarInto(h, 0, name, flag, e, size, linkname);
  return h;
}

/** The header block(s) of one entry: a PAX header first when ustar cannot hold a field. */
export function encodeHeader(e: TarEntry): Buffer {
  const name = e.type === 'dir' ? Buffer.concat([e.name, Buffer.from('/')]) : e.name;
  const linkname = e.linkname ?? Buffer.alloc(0);
  const size = e.type === 'file' ? e.size : 0;
  const records: Buffer[] = [];
  if (name.length > 100) records.push(paxRecord('path', name));
  if (linkname.length > 100) records.push(paxRecord('linkpath', linkname));
  if (size > MAX_OCTAL_12) records.push(paxRecord('size', Buffer.from(String(size))));
  if (e.uid > MAX_OCTAL_8) records.push(paxRecord('uid', Buffer.from(String(e.uid))));
  if (e.gid > MAX_OCTAL_8) records.push(paxRecord('gid', Buffer.from(String(e.gid))));
  for (const [k, v] of e.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const main = ustarHeader(name, typeflag[e.type], e, size, linkname);
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  const paxName = Buffer.concat([Buffer.from('PaxHeaders/'), name.subarray(Math.max(0, name.length - 80))]);
  const paxHeader = ustarHeader(paxName, 0x78, { ...e, mode: 0o644 }, pax.length, Buffer.alloc(0));
  return Buffer.concat([paxHeader, pax, Buffer.alloc(padding(pax.length)), main]);
}

/**
 * Writes the header block(s) of one entry into `dst` at `at` and returns their length, or -1
 * when they do not fit (the bytes are those of `encodeHeader`). Saves an allocation per entry
 * when headers go straight into a frame.
 */
export function encodeHeaderInto(e: TarEntry, dst: Buffer, at: number): number {
  const name = e.type === 'dir' ? Buffer.concat([e.name, Buffer.from('/')]) : e.name;
  const linkname = e.linkname ?? EMPTY;
  const size = e.type === 'file' ? e.size : 0;
  if (name.length > 100 || linkname.length > 100 || size > MAX_OCTAL_12 || e.uid > MAX_OCTAL_8 || e.gid > MAX_OCTAL_8 || (e.xattrs && e.xattrs.length > 0)) {
    const h = encodeHeader(e);
    if (at + h.length > dst.length) return -1;
    h.copy(dst, at);
    return h.length;
  }
  if (at + BLOCK > dst.length) return -1;
  ustarInto(dst, at, name, typeflag[e.type], e, size, linkname);
  return BLOCK;
}

const EMPTY = Buffer.alloc(0);

/** Two zero blocks: the end of a tar archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
