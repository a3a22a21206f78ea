// One frame of a backup, built in a worker thread: the tar bytes of a run of entries (headers the
// main thread encoded, small files read whole, slices of large files), compressed and, with a
// key, sealed. Reading the files here rather than on the main thread keeps the per-file system
// calls off the event loop and spreads them over the cores with the compression.
//
// A job is a few flat arrays (no object per entry), so posting one with thousands of entries
// costs little; the result says, per entry, where its data starts in the frame and, for files
// read here, their status as fstat saw it when they were opened.
import { closeSync } from 'node:fs';
import { encodeHeaderInto, padding } from '../../../common/src/format/tar-header.ts';
import { sealFrameParts } from '../../../common/src/format/seal.ts';
import { FrameCompressor } from '../../../common/src/format/zstd-frame.ts';
import { changedSince, openVerified, readFully, readXattrs, type RootCheck } from './file-source.ts';
import type { JobRoot, JobSeal } from './job-shapes.ts';

/** Bytes encoded by the main thread (a directory, symlink or hardlink header, a large file's header). */
export const ITEM_RAW = 0;
/** A small file read whole here: header (from fstat), data, padding. */
export const ITEM_FILE = 1;
/** `len` bytes at `pos` of a large file, then `pad` zero bytes. */
export const ITEM_SLICE = 2;

/** Flags of an entry in a result. */
export const GONE = 1;
export const TORN = 2;
/**
 * A small file that is not one any more (it grew past `maxWhole` since the walk, or its header
 * (xattrs) is large, or it would take the frame past `maxRaw`): not in this frame; the main
 * thread stores it as a large file (slices), so that no frame exceeds what a reader accepts.
 */
export const DEFER = 4;

/** Header bytes (with PAX records) above which a file is deferred to the large-file path. */
const MAX_INLINE_HEADER = 64 << 10;

/** Fields per entry in FrameJob.nums: walk size (file) or reference size (slice), pos, len, pad. */
export const NUMS = 4;
/** Fields per entry in FrameResult.stats: mode, uid, gid, size, ino, nlink (numbers; times are in `times`). */
export const STATS = 6;

export interface FrameJob {
  type: 'frame';
  level: number;
  seal?: JobSeal;
  root: JobRoot;
  /** A small file larger than this now is deferred (DEFER). */
  maxWhole: number;
  /** Tar bytes this frame may hold: a small file that would take it past this is deferred. */
  maxRaw: number;
  kinds: Uint8Array;
  /** Absolute paths of the file and slice entries (the root's, a slash, the relative path), concatenated; entry i's ends at pathEnd[i]. */
  paths: Uint8Array;
  pathEnd: Uint32Array;
  raw: Uint8Array;
  rawEnd: Uint32Array;
  /** Per entry: inode and device the walk saw (file, slice). */
  ids: BigUint64Array;
  /** Per slice: mtime and ctime (ns) of the file when its header was made. */
  times: BigInt64Array;
  nums: Float64Array;
}

export interface FrameResult {
  /** The stored frame (compressed, sealed with a key), in parts to write one after the other. */
  frame: Uint8Array[];
  /** The job's paths, path ends and ids, handed back (the main thread names entries with them). */
  items: Pick<FrameJob, 'paths' | 'pathEnd' | 'ids'>;
  /** Stored bytes of the frame. */
  size: number;
  /** Tar bytes in the frame. */
  raw: number;
  flags: Uint8Array;
  /** Where each entry's data (raw: its bytes) starts in the frame's tar bytes. */
  dataAt: Float64Array;
  /** For file entries: their status when opened (see STATS), and mtime and ctime (ns). */
  stats: Float64Array;
  times: BigInt64Array;
  /** Extended attributes of file entries that have any: [entry, attributes]. */
  xattrs: Array<[number, Array<[string, Uint8Array]>]>;
}

let scratch = Buffer.alloc(0);
let out = new Uint8Array(0);
let compressor: FrameCompressor | undefined;
let compressorLevel = NaN;

/** Room for `n` tar bytes, keeping the first `used`. */
function ensure(n: number, used: number): void {
  if (scratch.length >= n) return;
  const grown = Buffer.allocUnsafeSlow(Math.max(n, scratch.length * 2, 1 << 16));
  scratch.copy(grown, 0, 0, used);
  scratch = grown;
}

/** A copy of `b` in memory of its own, so that it can be transferred (and `b` reused). */
function own(b: Uint8Array): Uint8Array {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy;
}

export function runFrameJob(job: FrameJob): FrameResult {
  const n = job.kinds.length;
  const root: RootCheck = { real: job.root.real, dev: job.root.dev };
  const flags = new Uint8Array(n);
  const dataAt = new Float64Array(n);
  const stats = new Float64Array(n * STATS);
  const times = new BigInt64Array(n * 2);
  const xattrs: FrameResult['xattrs'] = [];
  const paths = Buffer.from(job.paths.buffer, job.paths.byteOffset, job.paths.byteLength);
  const relAt = job.root.abs.length + 1;
  let used = 0;
  let pathStart = 0;
  let rawStart = 0;
  for (let i = 0; i < n; i++) {
    const kind = job.kinds[i]!;
    const abs = paths.subarray(pathStart, job.pathEnd[i]);
    pathStart = job.pathEnd[i]!;
    const rawEnd = job.rawEnd[i]!;
    if (kind === ITEM_RAW) {
      ensure(used + rawEnd - rawStart, used);
      dataAt[i] = used;
      scratch.set(job.raw.subarray(rawStart, rawEnd), used);
      used += rawEnd - rawStart;
      rawStart = rawEnd;
      continue;
    }
    rawStart = rawEnd;
    const ino = job.ids[2 * i]!;
    const dev = job.ids[2 * i + 1]!;
    const opened = openVerified(abs, ino, dev, root);
    if (kind === ITEM_FILE) {
      if (!opened) {
        flags[i] = GONE;
        continue;
      }
      try {
        const st = opened.stat;
        const size = Number(st.size);
        let torn = false;
        if (size > job.maxWhole) {
          flags[i] = DEFER;
          continue;
        }
        const x = readXattrs(opened.fd);
        const entry = {
          name: abs.subarray(relAt), type: 'file' as const, mode: Number(st.mode & 0o177777n), uid: Number(st.uid), gid: Number(st.gid),
          size, mtimeSeconds: Number(st.mtimeNs / 1_000_000_000n), ...(x.length > 0 ? { xattrs: x } : {}),
        };
        const pad = padding(size);
        ensure(used + 512 + size + pad, used);
        let h = encodeHeaderInto(entry, scratch, used);
        while (h < 0) {
          // PAX records (xattrs, long names) do not fit: grow.
          ensure(scratch.length * 2, used);
          h = encodeHeaderInto(entry, scratch, used);
        }
        if (h > MAX_INLINE_HEADER || used + h + size + pad > job.maxRaw) {
          flags[i] = DEFER;
          continue;
        }
        used += h;
        ensure(used + size + pad, used);
        dataAt[i] = used;
        if (readFully(opened.fd, scratch, used, size, 0) < size) torn = true;
        if (!torn && changedSince(opened.fd, st)) torn = true;
        used += size;
        scratch.fill(0, used, used + pad);
        used += pad;
        if (torn) flags[i] = TORN;
        const s = STATS * i;
        stats[s] = Number(st.mode & 0o177777n);
        stats[s + 1] = Number(st.uid);
        stats[s + 2] = Number(st.gid);
        stats[s + 3] = size;
        stats[s + 4] = Number(st.ino);
        stats[s + 5] = Number(st.nlink);
        times[2 * i] = st.mtimeNs;
        times[2 * i + 1] = st.ctimeNs;
        if (x.length > 0) xattrs.push([i, x]);
      } finally {
        closeSync(opened.fd);
      }
      continue;
    }
    // ITEM_SLICE: compared with the status the header was made from; anything else is torn.
    const ref = { size: BigInt(job.nums[NUMS * i]!), mtimeNs: job.times[2 * i]!, ctimeNs: job.times[2 * i + 1]! };
    const pos = job.nums[NUMS * i + 1]!;
    const len = job.nums[NUMS * i + 2]!;
    const pad = job.nums[NUMS * i + 3]!;
    ensure(used + len + pad, used);
    dataAt[i] = used;
    let torn = true;
    if (opened) {
      try {
        torn = opened.stat.size !== ref.size || opened.stat.mtimeNs !== ref.mtimeNs || opened.stat.ctimeNs !== ref.ctimeNs;
        if (readFully(opened.fd, scratch, used, len, pos) < len) torn = true;
        if (!torn && changedSince(opened.fd, ref)) torn = true;
      } finally {
        closeSync(opened.fd);
      }
    } else {
      scratch.fill(0, used, used + len);
    }
    used += len;
    scratch.fill(0, used, used + pad);
    used += pad;
    if (torn) flags[i] = TORN;
  }

  if (!compressor || compressorLevel !== job.level) {
    compressor = new FrameCompressor(job.level);
    compressorLevel = job.level;
  }
  const bound = FrameCompressor.bound(used);
  if (out.length < bound) out = new Uint8Array(Math.max(bound, out.length * 2));
  const size = compressor.compressInto(out, scratch.subarray(0, used));
  const zstd = out.subarray(0, size);
  const frame = job.seal ? sealFrameParts(Buffer.from(job.seal.key), job.seal.context, job.seal.seq, false, Buffer.from(zstd.buffer, zstd.byteOffset, zstd.byteLength)) : [own(zstd)];
  // Large scratch buffers (a frame of a tuning with big frames) are not kept between jobs.
  if (scratch.length > 32 << 20) scratch = Buffer.alloc(0);
  if (out.length > 32 << 20) out = new Uint8Array(0);
  const items = { paths: job.paths, pathEnd: job.pathEnd, ids: job.ids };
  return { frame, items, size: frame.reduce((n, b) => n + b.length, 0), raw: used, flags, dataAt, stats, times, xattrs };
}

/** The buffers of a frame job, which move to the worker without a copy. */
export function frameJobViews(job: FrameJob): ArrayBufferView[] {
  return [job.kinds, job.paths, job.pathEnd, job.raw, job.rawEnd, job.ids, job.times, job.nums];
}

/** The buffers of a result, which move to the main thread without a copy. */
export function resultViews(r: FrameResult): ArrayBufferView[] {
  return [...r.frame, r.flags, r.dataAt, r.stats, r.times, r.items.paths, r.items.pathEnd, r.items.ids];
}

/** The buffers of a job that its result does not hand back. */
export function spentViews(job: FrameJob): ArrayBufferView[] {
  return [job.kinds, job.raw, job.rawEnd, job.times, job.nums];
}
