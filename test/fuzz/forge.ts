// Hostile building blocks for the restore fuzzer: paths (with "..", ".", empty components, NUL,
// absolute paths into the sandbox, over-long names), tar streams (ustar with any type flag, GNU
// long names, PAX records, headers made by the format codec) and zstd frames (valid, garbage,
// hand-made RLE bombs that may lie about their size, frames without a content size, skippable
// frames, frames that need a dictionary).
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { encodeHeader } from '../../common/src/format/tar-header.ts';
import { compressFrame } from '../../common/src/format/zstd-frame.ts';
import { rawTarHeader, tarData } from '../engine/hostile/archive-builder.ts';
import { nameArb } from './trees.ts';

const require = createRequire(import.meta.url);
const { Compressor } = require('zstd-napi') as {
  Compressor: new () => { setParameters(p: { compressionLevel?: number; checksumFlag?: boolean; contentSizeFlag?: boolean }): void; compress(d: Uint8Array): Buffer };
};

/** Absolute paths of the sandbox a hostile path may name (known only when a case runs). */
export interface PathContext {
  base: string;
  outside: string;
  canary: string;
  target: string;
}

export type Atom =
  | { a: 'name'; b: Buffer }
  | { a: 'dotdot' }
  | { a: 'dot' }
  | { a: 'empty' }
  | { a: 'known'; s: 'outside' | 'canary' | 'canary-file' | 'target' | 'a' | 'b' | 'x' }
  | { a: 'abs'; s: 'base' | 'outside' | 'canary' | 'target' | 'etc' | 'root' }
  | { a: 'nul'; b: Buffer }
  | { a: 'long'; n: number };

export type PathSpec = Atom[];

export const atomArb: fc.Arbitrary<Atom> = fc.oneof(
  { arbitrary: nameArb.map((b) => ({ a: 'name' as const, b })), weight: 4 },
  { arbitrary: fc.constant({ a: 'dotdot' as const }), weight: 4 },
  { arbitrary: fc.constant({ a: 'dot' as const }), weight: 1 },
  { arbitrary: fc.constant({ a: 'empty' as const }), weight: 1 },
  { arbitrary: fc.constantFrom('outside', 'canary', 'canary-file', 'target', 'a', 'b', 'x').map((s) => ({ a: 'known' as const, s })), weight: 3 },
  { arbitrary: fc.constantFrom('base', 'outside', 'canary', 'target', 'etc', 'root').map((s) => ({ a: 'abs' as const, s })), weight: 2 },
  { arbitrary: nameArb.map((b) => ({ a: 'nul' as const, b })), weight: 1 },
  { arbitrary: fc.integer({ min: 200, max: 5000 }).map((n) => ({ a: 'long' as const, n })), weight: 1 },
);

export const pathSpecArb: fc.Arbitrary<PathSpec> = fc.array(atomArb, { minLength: 1, maxLength: 6 });

function renderAtom(x: Atom, c: PathContext): Buffer {
  switch (x.a) {
    case 'name':
      return x.b;
    case 'dotdot':
      return Buffer.from('..');
    case 'dot':
      return Buffer.from('.');
    case 'empty':
      return Buffer.alloc(0);
    case 'known':
      return Buffer.from(x.s === 'canary' ? 'outside/canary' : x.s);
    case 'abs':
      return Buffer.from({ base: c.base, outside: c.outside, canary: c.canary, target: c.target, etc: '/etc/passwd', root: '' }[x.s]);
    case 'nul':
      return Buffer.concat([x.b, Buffer.from([0]), Buffer.from('x')]);
    case 'long':
      return Buffer.alloc(x.n, 0x6c);
  }
}

export function renderPath(p: PathSpec, c: PathContext): Buffer {
  return Buffer.concat(p.flatMap((x, i) => (i === 0 ? [renderAtom(x, c)] : [Buffer.from('/'), renderAtom(x, c)])));
}

// --- tar streams ------------------------------------------------------------------------------

export type TarSpec =
  | { t: 'ustar'; name: PathSpec; flag: string; size: number; data: Buffer; mode: number }
  | { t: 'gnuLong'; kind: 'L' | 'K'; long: PathSpec; name: PathSpec; data: Buffer }
  | { t: 'pax'; global: boolean; records: Array<[string, string]>; name: PathSpec; data: Buffer }
  | { t: 'codec'; name: PathSpec; link: PathSpec; type: 'file' | 'dir' | 'symlink' | 'hardlink'; size: number; uid: number; xattrs: Array<[string, Buffer]> }
  | { t: 'zeros'; blocks: number }
  | { t: 'junk'; data: Buffer };

const flagArb = fc.oneof(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', 'x', 'g', 'L', 'K', 'S', 'V', 'D', 'M', '\u0000'), fc.integer({ min: 0, max: 255 }).map((n) => String.fromCharCode(n)));
const smallData = fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a));
const hugeSize = fc.oneof(fc.nat(4096), fc.constantFrom(0o77777777777, 2 ** 33, Number.MAX_SAFE_INTEGER));

export const tarSpecArb: fc.Arbitrary<TarSpec> = fc.oneof(
  fc.record({ t: fc.constant('ustar' as const), name: pathSpecArb, flag: flagArb, size: hugeSize, data: smallData, mode: fc.integer({ min: 0, max: 0o7777777 }) }),
  fc.record({ t: fc.constant('gnuLong' as const), kind: fc.constantFrom('L' as const, 'K' as const), long: pathSpecArb, name: pathSpecArb, data: smallData }),
  fc.record({
    t: fc.constant('pax' as const), global: fc.boolean(),
    records: fc.array(fc.tuple(fc.oneof(fc.constantFrom('path', 'linkpath', 'size', 'uid', 'gid', 'mtime', 'SCHILY.xattr.security.capability', 'SCHILY.xattr.user.x', 'GNU.sparse.map'), fc.string({ maxLength: 12 })), fc.oneof(fc.constantFrom('../../evil', '/etc/passwd', '-1', '99999999999999999999', ''), fc.string({ maxLength: 40 }))), { maxLength: 4 }),
    name: pathSpecArb, data: smallData,
  }),
  fc.record({
    t: fc.constant('codec' as const), name: pathSpecArb, link: pathSpecArb, type: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const, 'hardlink' as const),
    size: fc.nat(2000), uid: fc.constantFrom(0, 2_097_152, 4_294_967_295), xattrs: fc.array(fc.tuple(fc.constantFrom('security.capability', 'trusted.x', 'user.y'), fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a))), { maxLength: 2 }),
  }),
  fc.record({ t: fc.constant('zeros' as const), blocks: fc.nat(4) }),
  fc.record({ t: fc.constant('junk' as const), data: smallData }),
);

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return Buffer.from(`${len}${body}`);
}

export function renderTar(items: TarSpec[], c: PathContext): Buffer {
  const out: Buffer[] = [];
  for (const x of items) {
    switch (x.t) {
      case 'ustar':
        out.push(rawTarHeader(renderPath(x.name, c), x.flag, x.size, x.mode), tarData(x.data));
        break;
      case 'gnuLong': {
        const long = Buffer.concat([renderPath(x.long, c), Buffer.from([0])]);
        out.push(rawTarHeader(Buffer.from('././@LongLink'), x.kind, long.length), tarData(long), rawTarHeader(renderPath(x.name, c), x.kind === 'K' ? '2' : '0', x.data.length), tarData(x.data));
        break;
      }
      case 'pax': {
        const recs = Buffer.concat(x.records.map(([k, v]) => paxRecord(k, v)));
        out.push(rawTarHeader(Buffer.from('PaxHeaders/x'), x.global ? 'g' : 'x', recs.length), tarData(recs), rawTarHeader(renderPath(x.name, c), '0', x.data.length), tarData(x.data));
        break;
      }
      case 'codec':
        out.push(encodeHeader({
          name: renderPath(x.name, c), type: x.type, mode: 0o4755, uid: x.uid, gid: 0, size: x.size, mtimeSeconds: 1,
          ...(x.type === 'symlink' || x.type === 'hardlink' ? { linkname: renderPath(x.link, c) } : {}), xattrs: x.xattrs,
        }), x.type === 'file' ? tarData(Buffer.alloc(x.size, 0x41)) : Buffer.alloc(0));
        break;
      case 'zeros':
        out.push(Buffer.alloc(512 * x.blocks));
        break;
      case 'junk':
        out.push(x.data);
        break;
    }
  }
  return Buffer.concat(out);
}

// --- zstd frames ------------------------------------------------------------------------------

export type FrameSpec =
  | { f: 'tar'; tar: TarSpec[]; level: number }
  | { f: 'plain'; data: Buffer }
  | { f: 'garbage'; data: Buffer; magic: boolean }
  | { f: 'rle'; blocks: number; blockSize: number; lie: 'none' | 'more' | 'less' | 'huge' | 'zero'; checksum: boolean }
  | { f: 'noSize'; data: Buffer }
  | { f: 'skippable'; data: Buffer }
  | { f: 'dict'; data: Buffer };

export const frameSpecArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  { arbitrary: fc.record({ f: fc.constant('tar' as const), tar: fc.array(tarSpecArb, { minLength: 1, maxLength: 4 }), level: fc.constantFrom(1, 3) }), weight: 4 },
  { arbitrary: fc.record({ f: fc.constant('plain' as const), data: fc.uint8Array({ maxLength: 5000 }).map((a) => Buffer.from(a)) }), weight: 2 },
  { arbitrary: fc.record({ f: fc.constant('garbage' as const), data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), magic: fc.boolean() }), weight: 2 },
  {
    arbitrary: fc.record({
      f: fc.constant('rle' as const), blocks: fc.integer({ min: 1, max: 128 }), blockSize: fc.oneof(fc.constant(131_072), fc.integer({ min: 1, max: 131_072 })),
      lie: fc.constantFrom('none' as const, 'more' as const, 'less' as const, 'huge' as const, 'zero' as const), checksum: fc.boolean(),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ f: fc.constant('noSize' as const), data: fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)) }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('skippable' as const), data: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) }), weight: 1 },
  { arbitrary: fc.record({ f: fc.constant('dict' as const), data: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a)) }), weight: 1 },
);

const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

function u64le(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** A hand-made frame of RLE blocks (a decompression bomb when large) declaring `declared` bytes. */
function rleFrame(blocks: number, blockSize: number, declared: number, checksum: boolean): Buffer {
  // Frame header descriptor: 8-byte content size (flag 3), single segment, checksum flag.
  const fhd = 0xc0 | 0x20 | (checksum ? 0x04 : 0);
  const parts = [MAGIC, Buffer.from([fhd]), u64le(declared)];
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    const bh = last | (1 << 1) | (blockSize << 3); // type 1: RLE, size = bytes regenerated
    parts.push(Buffer.from([bh & 0xff, (bh >> 8) & 0xff, (bh >> 16) & 0xff, 0x41]));
  }
  if (checksum) parts.push(Buffer.from([1, 2, 3, 4]));
  return Buffer.concat(parts);
}

/** One zstd frame (or something that claims to be one); `c` renders paths in tar streams. */
export function buildFrame(s: FrameSpec, c: PathContext): Buffer {
  switch (s.f) {
    case 'tar':
      return compressFrame(renderTar(s.tar, c), s.level);
    case 'plain':
      return compressFrame(s.data, 1);
    case 'garbage':
      return s.magic ? Buffer.concat([MAGIC, s.data]) : s.data.length > 0 ? s.data : Buffer.from([0]);
    case 'rle': {
      const real = s.blocks * s.blockSize;
      const declared = { none: real, more: real + 1, less: Math.max(0, real - 1), huge: 2 ** 40, zero: 0 }[s.lie];
      return rleFrame(s.blocks, s.blockSize, declared, s.checksum);
    }
    case 'noSize': {
      const z = new Compressor();
      z.setParameters({ compressionLevel: 1, checksumFlag: true, contentSizeFlag: false });
      return z.compress(s.data);
    }
    case 'skippable': {
      const h = Buffer.alloc(8);
      h.writeUInt32LE(0x184d2a50 + (s.data.length % 16), 0);
      h.writeUInt32LE(s.data.length, 4);
      return Buffer.concat([h, s.data]);
    }
    case 'dict': {
      // Single segment, 1-byte content size, 1-byte dictionary id; one raw block.
      const raw = s.data.subarray(0, 255);
      const bh = 1 | (0 << 1) | (raw.length << 3);
      return Buffer.concat([MAGIC, Buffer.from([0x20 | 0x01, 7, raw.length]), Buffer.from([bh & 0xff, (bh >> 8) & 0xff, (bh >> 16) & 0xff]), raw]);
    }
  }
}
