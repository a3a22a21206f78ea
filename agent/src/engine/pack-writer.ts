// Writes frames into packs: each frame is built from its entries, compressed and sealed by the
// pool in parallel (frame-job.ts), then appended to the current pack in submission order, so its
// offset is known; each pack is one streaming (multipart) upload. A bounded number of frames is in
// flight: `submit` waits for room, which is the backpressure that reaches the walk.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { codeOf } from '../../../common/src/errors.ts';
import { newPackId, packKeyOf } from '../../../common/src/format/layout.ts';
import { packContext, packKey } from '../../../common/src/format/seal.ts';
import { END_OF_ARCHIVE } from '../../../common/src/format/tar-header.ts';
import { compressFrame } from '../../../common/src/format/zstd-frame.ts';
import type { CompressPool } from './compress-pool.ts';
import type { FrameJob, FrameResult } from './frame-job.ts';

/** True for an error that only says "stopped" (an abort), not why. */
export function isAbort(err: unknown): boolean {
  return codeOf(err) === 'CAIRN_E_ABORTED';
}

export interface FrameRef {
  pack: string;
  seq: number;
  offset: number;
  size: number;
}

export interface WrittenFrame {
  ref: FrameRef;
  result: FrameResult;
}

/** A frame job without what the pack writer fills in. */
export type FrameItems = Omit<FrameJob, 'type' | 'level' | 'seal'>;

export interface PackWriterOptions {
  store: ObjectStore;
  lineage: string;
  pool: CompressPool;
  level: number;
  key?: Buffer;
  partSize?: number;
  queueSize?: number;
  maxInFlight: number;
  signal?: AbortSignal;
}

interface OpenPack {
  id: string;
  key: Buffer | undefined;
  seq: number;
  offset: number;
  stream: PassThrough;
  upload: Promise<unknown>;
}

export class PackWriter {
  private readonly o: PackWriterOptions;
  private current: OpenPack | undefined;
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private readonly uploads: Promise<unknown>[] = [];
  private readonly allUploads: Promise<unknown>[] = [];
  readonly packs: string[] = [];
  storedBytes = 0;
  /** The first upload failure that is not an abort: the root cause when several stages fail. */
  uploadError: unknown;

  constructor(o: PackWriterOptions) {
    this.o = o;
  }

  /** Waits for room, then queues the frame; `written` resolves once it is in its pack. */
  async submit(items: FrameItems): Promise<{ written: Promise<WrittenFrame> }> {
    while (this.inFlight >= this.o.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.o.signal?.throwIfAborted();
    const pack = this.current ?? (await this.openPack());
    const seq = pack.seq++;
    this.inFlight++;
    const built = this.o.pool.frame({ ...items, type: 'frame', level: this.o.level, ...(pack.key ? { seal: { key: pack.key, context: packContext(this.o.lineage, pack.id), seq } } : {}) });
    built.catch(() => {});
    let written!: WrittenFrame;
    this.tail = this.tail.then(async () => {
      const result = await built;
      written = { ref: { pack: pack.id, seq, offset: pack.offset, size: result.size }, result };
      pack.offset += result.size;
      this.storedBytes += result.size;
      let room = true;
      for (const part of result.frame) room = pack.stream.write(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
      if (!room) {
        // The upload may fail while we wait for room: do not wait for a drain that never comes.
        const ended = pack.upload.then(() => { throw new Error('pack upload ended before its stream'); });
        try {
          await Promise.race([once(pack.stream, 'drain', this.o.signal ? { signal: this.o.signal } : {}), ended]);
        } catch (err) {
          // A failing upload destroys its stream (an AbortError) before its own error arrives:
          // report the upload's error, the cause, rather than the stream's.
          throw await pack.upload.then(() => err, (cause: unknown) => cause);
        }
      }
    }).finally(() => {
      this.inFlight--;
      this.waiters.shift()?.();
    });
    // Failures surface through `written` and `finish()`; the chain itself must not go unhandled.
    this.tail.catch(() => {});
    const done = this.tail.then(() => written);
    done.catch(() => {});
    return { written: done };
  }

  /** Ends the current pack after its queued frames; the next frame starts a new pack. */
  rotate(): void {
    const pack = this.current;
    if (!pack) return;
    this.current = undefined;
    this.tail = this.tail.then(() => {
      // Unencrypted packs end like a tar archive, so `zstd -dc pack | tar -x` ends cleanly.
      if (!pack.key) pack.stream.write(compressFrame(END_OF_ARCHIVE, 1));
      pack.stream.end();
    });
    this.tail.catch(() => {});
  }

  /** Ends the last pack and waits for every upload. */
  async finish(): Promise<void> {
    this.rotate();
    await this.tail;
    await Promise.all(this.uploads);
  }

  /** Resolves when every upload has ended, whether it succeeded or was aborted. */
  async settled(): Promise<void> {
    await Promise.allSettled([this.tail, ...this.allUploads]);
  }

  /** Stops everything after a failure or abort (uploads abort through the signal). */
  destroy(err: Error): void {
    this.current?.stream.destroy(err);
    this.current = undefined;
  }

  private async openPack(): Promise<OpenPack> {
    // At most two packs upload at once: wait for the older ones before starting another.
    while (this.uploads.length >= 2) await this.uploads.shift();
    const id = newPackId();
    // Object mode: the upload reads each frame part as written. In byte mode every read joined
    // the parts buffered so far into a new buffer (a copy of the pack on the main thread,
    // profiled at ~7% of it), before the upload copies them into its part buffers anyway.
    // A frame is up to three parts (length and flags, ciphertext, tag): about 2-3 frames wait.
    const stream = new PassThrough({ objectMode: true, highWaterMark: 8 });
    const upload = this.o.store.upload(packKeyOf(this.o.lineage, id), stream, {
      ...(this.o.partSize ? { partSize: this.o.partSize } : {}),
      ...(this.o.queueSize ? { queueSize: this.o.queueSize } : {}),
      ...(this.o.signal ? { signal: this.o.signal } : {}),
      contentType: 'application/octet-stream',
    });
    upload.catch((err: unknown) => {
      if (!isAbort(err)) this.uploadError ??= err;
    });
    this.uploads.push(upload);
    this.allUploads.push(upload);
    this.packs.push(id);
    this.current = { id, key: this.o.key ? packKey(this.o.key, id) : undefined, seq: 0, offset: 0, stream, upload };
    return this.current;
  }
}
