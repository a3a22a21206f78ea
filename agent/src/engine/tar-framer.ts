// Cuts the tar stream of a backup into frames of about `frameBytes`: small files share a frame,
// large files span several. For each entry it records the frames its data lies in and where the
// data starts, which become the entry's location in the index once the frames are in a pack.
import { padding } from '../../../common/src/format/tar-header.ts';
import type { FrameRef, PackWriter } from './pack-writer.ts';

export interface EntrySpan {
  /** Frames holding the entry's data, in order (resolve once each is written). */
  frames: Promise<FrameRef>[];
  /** Decompressed bytes in the first frame before the data starts. */
  skip: number;
}

export class TarFramer {
  private readonly packs: PackWriter;
  private readonly frameBytes: number;
  private buf: Buffer;
  private used = 0;
  private spanFrames: Promise<FrameRef>[] | undefined;
  /** Raw tar bytes in the current pack: the caller rotates packs on this. */
  rawInPack = 0;

  constructor(packs: PackWriter, frameBytes: number) {
    this.packs = packs;
    this.frameBytes = frameBytes;
    this.buf = Buffer.alloc(frameBytes);
  }

  /** An entry without data (directory, symlink, hardlink, empty file). */
  async header(h: Buffer): Promise<void> {
    await this.write(h);
  }

  /** Starts a file entry: writes its header; the data follows with `data()` and `endFile()`. */
  async beginFile(h: Buffer): Promise<number> {
    await this.write(h);
    if (this.used === this.frameBytes) await this.flush();
    this.spanFrames = [];
    return this.used;
  }

  async data(chunk: Buffer): Promise<void> {
    await this.write(chunk);
  }

  /** Ends a file entry (with its tar padding) and returns where its data is. */
  async endFile(size: number, skip: number): Promise<EntrySpan> {
    const frames = this.spanFrames!;
    this.spanFrames = undefined;
    // The data's last byte is in the frame being filled, unless the data ended exactly on a
    // frame boundary (then that frame was flushed and is already in `frames`).
    if (size > 0 && this.used > 0) frames.push(this.pendingCurrent());
    const pad = padding(size);
    if (pad > 0) await this.write(Buffer.alloc(pad));
    return { frames, skip };
  }

  /** Flushes the current frame (before a pack rotation or at the end). */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const frame = this.used === this.frameBytes ? this.buf : Buffer.from(this.buf.subarray(0, this.used));
    this.buf = Buffer.alloc(this.frameBytes);
    this.used = 0;
    const { ref } = await this.packs.submit(frame);
    this.settle(ref);
  }

  private currentRef: { promise: Promise<FrameRef>; resolve: (r: FrameRef) => void; reject: (e: unknown) => void } | undefined;

  /** A promise for the frame being filled now, settled when it is flushed. */
  private pendingCurrent(): Promise<FrameRef> {
    if (!this.currentRef) {
      let resolve!: (r: FrameRef) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<FrameRef>((a, b) => { resolve = a; reject = b; });
      promise.catch(() => {});
      this.currentRef = { promise, resolve, reject };
    }
    return this.currentRef.promise;
  }

  private settle(ref: Promise<FrameRef>): void {
    const cur = this.currentRef;
    this.currentRef = undefined;
    if (cur) ref.then(cur.resolve, cur.reject);
  }

  private async write(b: Buffer): Promise<void> {
    let pos = 0;
    while (pos < b.length) {
      const n = Math.min(b.length - pos, this.frameBytes - this.used);
      b.copy(this.buf, this.used, pos, pos + n);
      this.used += n;
      this.rawInPack += n;
      pos += n;
      if (this.used === this.frameBytes) {
        if (this.spanFrames) this.spanFrames.push(this.pendingCurrent());
        await this.flush();
      }
    }
  }
}
