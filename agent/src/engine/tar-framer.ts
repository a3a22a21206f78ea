// Cuts the tar stream of a backup into frames of about `frameBytes` of tar bytes, as jobs for the
// pool (frame-job.ts): the main thread only decides which entries go into which frame, from their
// sizes at walk time; the workers read the files and write the bytes. A small file lies whole in
// one frame (so a restore needs one frame for it); a large file is cut into slices that fill
// frames exactly, so its frames are read and compressed on all cores.
import { padding } from '../../../common/src/format/tar-header.ts';
import { ITEM_FILE, ITEM_RAW, ITEM_SLICE, NUMS } from './frame-job.ts';
import type { PackWriter, WrittenFrame } from './pack-writer.ts';
import type { JobRoot } from './job-shapes.ts';

/**
 * A submitted frame: `done` is set once it is in its pack. Its entries' paths and ids come back
 * with the result (`done.result.items`): the job's arrays move to the worker and back, uncopied.
 */
export interface Batch {
  written: Promise<WrittenFrame>;
  done: WrittenFrame | undefined;
}

/** Where an entry's part of the tar stream went: entry `index` of `batch`. */
export interface Placed {
  batch: Batch;
  index: number;
}

const HEADER = 512;
/** A header up to this size goes whole into the frame being filled; a larger one is spread over frames. */
const WHOLE_RAW = 64 << 10;

export class TarFramer {
  private readonly packs: PackWriter;
  private readonly frameBytes: number;
  private readonly root: JobRoot;
  private readonly maxWhole: number;
  private readonly maxEntries: number;
  /** What a frame may grow to: small files that would take it further are deferred (frame-job.ts DEFER). */
  private readonly maxRaw: number;
  private current!: Batch;
  private settle!: { resolve: (w: WrittenFrame) => void; reject: (e: unknown) => void };
  /**
   * Entries of the frame being filled. The arrays are kept from frame to frame (grown by doubling
   * up to the entries of a full frame); a job gets copies of the exact size (see flush).
   */
  private n = 0;
  private kinds = new Uint8Array(64);
  private paths: Buffer[] = [];
  private pathEnd = new Uint32Array(64);
  private pathBytes = 0;
  private raws: Buffer[] = [];
  private rawEnd = new Uint32Array(64);
  private rawBytes = 0;
  private ids = new BigUint64Array(2 * 64);
  private times = new BigInt64Array(2 * 64);
  private nums = new Float64Array(NUMS * 64);
  /** Estimated tar bytes in the frame being filled. */
  private est = 0;
  /** Estimated tar bytes in the current pack: the caller rotates packs on this. */
  rawInPack = 0;

  constructor(packs: PackWriter, frameBytes: number, maxEntries: number, root: { abs: Buffer; real: string; dev: bigint }, maxWhole: number) {
    this.packs = packs;
    this.frameBytes = frameBytes;
    this.maxEntries = Math.max(1, maxEntries);
    this.root = { abs: new Uint8Array(root.abs), real: root.real, dev: root.dev };
    this.maxWhole = maxWhole;
    // Readers accept frames of up to 16 MiB (read-limits.ts); stay well below.
    this.maxRaw = Math.min(frameBytes + maxWhole + WHOLE_RAW, 15 << 20);
    this.reset();
  }

  private reset(): void {
    let resolve!: (w: WrittenFrame) => void;
    let reject!: (e: unknown) => void;
    const written = new Promise<WrittenFrame>((a, b) => { resolve = a; reject = b; });
    written.catch(() => {});
    const batch: Batch = { written, done: undefined };
    written.then((w) => { batch.done = w; }, () => {});
    this.current = batch;
    this.settle = { resolve, reject };
    this.n = 0;
    this.paths = [];
    this.pathBytes = 0;
    this.raws = [];
    this.rawBytes = 0;
    this.est = 0;
  }

  private push(kind: number, path: Buffer | undefined, raw: Buffer | undefined, ino: bigint, dev: bigint, m: bigint, c: bigint, a: number, b: number, d: number, e: number, est: number): Placed {
    const index = this.n++;
    if (index === this.kinds.length) this.grow();
    this.kinds[index] = kind;
    if (path) {
      this.paths.push(path);
      this.pathBytes += path.length;
    }
    this.pathEnd[index] = this.pathBytes;
    if (raw) {
      this.raws.push(raw);
      this.rawBytes += raw.length;
    }
    this.rawEnd[index] = this.rawBytes;
    this.ids[2 * index] = ino;
    this.ids[2 * index + 1] = dev;
    this.times[2 * index] = m;
    this.times[2 * index + 1] = c;
    const o = NUMS * index;
    this.nums[o] = a;
    this.nums[o + 1] = b;
    this.nums[o + 2] = d;
    this.nums[o + 3] = e;
    this.est += est;
    this.rawInPack += est;
    return { batch: this.current, index };
  }

  private grow(): void {
    const cap = this.kinds.length * 2;
    const more = <T extends Uint8Array | Uint32Array | BigUint64Array | BigInt64Array | Float64Array>(a: T, per: number, make: (n: number) => T): T => {
      const b = make(cap * per);
      b.set(a as never);
      return b;
    };
    this.kinds = more(this.kinds, 1, (k) => new Uint8Array(k));
    this.pathEnd = more(this.pathEnd, 1, (k) => new Uint32Array(k));
    this.rawEnd = more(this.rawEnd, 1, (k) => new Uint32Array(k));
    this.ids = more(this.ids, 2, (k) => new BigUint64Array(k));
    this.times = more(this.times, 2, (k) => new BigInt64Array(k));
    this.nums = more(this.nums, NUMS, (k) => new Float64Array(k));
  }

  /** The frame is full (by bytes, or by entries: see Tuning.frameEntries): submit it with `flush`. */
  get full(): boolean {
    return this.est >= this.frameBytes || this.n >= this.maxEntries;
  }

  /** Whether a file of `size` bytes goes whole into one frame. */
  isSmall(size: number): boolean {
    return size <= this.maxWhole;
  }

  /** Whether a small file of `size` bytes would overflow the frame: `flush` first. */
  overflows(size: number): boolean {
    return this.est > 0 && this.est + HEADER + size + padding(size) > this.frameBytes;
  }

  /**
   * Header bytes (of a directory, symlink or hardlink, or of a large file). A promise when the
   * frame must be submitted first or after (await it). Headers are never read back by a restore
   * (the index has the metadata), so a large one (many xattrs) may span frames.
   */
  raw(bytes: Buffer): Promise<void> | undefined {
    if (bytes.length > WHOLE_RAW && this.est + bytes.length > this.frameBytes) return this.rawSpread(bytes);
    this.push(ITEM_RAW, undefined, bytes, 0n, 0n, 0n, 0n, 0, 0, 0, 0, bytes.length);
    return this.full ? this.flush() : undefined;
  }

  private async rawSpread(bytes: Buffer): Promise<void> {
    for (let pos = 0; pos < bytes.length;) {
      if (this.full) await this.flush();
      const n = Math.min(bytes.length - pos, this.frameBytes - this.est);
      this.push(ITEM_RAW, undefined, bytes.subarray(pos, pos + n), 0n, 0n, 0n, 0n, 0, 0, 0, 0, n);
      pos += n;
    }
    if (this.full) await this.flush();
  }

  /**
   * A small file at `abs` (under the root), read whole by a worker (`ino`/`dev` as the walk saw
   * them); check `overflows` before and `full` after.
   */
  file(abs: Buffer, ino: bigint, dev: bigint, size: number): Placed {
    return this.push(ITEM_FILE, abs, undefined, ino, dev, 0n, 0n, size, 0, 0, 0, HEADER + size + padding(size));
  }

  /** The data of a large file whose header was just added: slices that fill frames. */
  async slices(abs: Buffer, ref: { ino: bigint; dev: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }, signal?: AbortSignal): Promise<Placed[]> {
    const size = Number(ref.size);
    const out: Placed[] = [];
    for (let pos = 0; pos < size;) {
      signal?.throwIfAborted();
      if (this.full) await this.flush();
      const len = Math.min(size - pos, this.frameBytes - this.est);
      const pad = pos + len === size ? padding(size) : 0;
      out.push(this.push(ITEM_SLICE, abs, undefined, ref.ino, ref.dev, ref.mtimeNs, ref.ctimeNs, size, pos, len, pad, len + pad));
      pos += len;
      if (this.full) await this.flush();
    }
    return out;
  }

  /** Resolves once `batch` is in its pack, submitting it first if it is the frame being filled. */
  async written(batch: Batch): Promise<WrittenFrame> {
    if (batch === this.current) await this.flush();
    return batch.written;
  }

  /** Submits the frame being filled (waits for room in the pack writer). */
  async flush(): Promise<void> {
    const n = this.n;
    if (n === 0) return;
    const settle = this.settle;
    // Copies of the exact size, which the worker takes over (and hands back with the result).
    const job = {
      root: this.root,
      maxWhole: this.maxWhole,
      maxRaw: this.maxRaw,
      kinds: this.kinds.slice(0, n),
      paths: Buffer.concat(this.paths, this.pathBytes),
      pathEnd: this.pathEnd.slice(0, n),
      raw: Buffer.concat(this.raws, this.rawBytes),
      rawEnd: this.rawEnd.slice(0, n),
      ids: this.ids.slice(0, 2 * n),
      times: this.times.slice(0, 2 * n),
      nums: this.nums.slice(0, NUMS * n),
    };
    this.reset();
    try {
      const { written } = await this.packs.submit(job);
      written.then(settle.resolve, settle.reject);
    } catch (err) {
      settle.reject(err);
      throw err;
    }
  }
}
