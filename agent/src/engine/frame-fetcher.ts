// Fetches the frames a restore needs, in the order it needs them, a bounded number ahead: each
// frame is one ranged GET, opened (when sealed) and decompressed under the read limits.
import { CairnError } from '../../../common/src/errors.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import type { DataLocation } from '../../../common/src/format/index-entry.ts';
import { packKeyOf } from '../../../common/src/format/layout.ts';
import { openFrame, packContext, packKey } from '../../../common/src/format/seal.ts';
import { decompressFrame, type FrameLimits } from '../../../common/src/format/zstd-frame.ts';

export interface FrameDesc {
  pack: string;
  seq: number;
  offset: number;
  size: number;
}

export const frameId = (d: FrameDesc): string => `${d.pack}@${d.offset}`;

export function framesOf(loc: DataLocation): FrameDesc[] {
  const out: FrameDesc[] = [];
  let offset = loc.offset;
  loc.frames.forEach((size, i) => {
    out.push({ pack: loc.pack, seq: loc.seq + i, offset, size });
    offset += size;
  });
  return out;
}

export interface FetchContext {
  store: ObjectStore;
  lineage: string;
  key: Buffer | undefined;
  limits: FrameLimits;
  signal: AbortSignal;
}

/** Sizes of the packs a restore reads, each looked up once. */
const packSizes = new WeakMap<FetchContext, Map<string, Promise<number>>>();

function packSize(c: FetchContext, pack: string, key: string): Promise<number> {
  let sizes = packSizes.get(c);
  if (!sizes) {
    sizes = new Map<string, Promise<number>>();
    packSizes.set(c, sizes);
  }
  let size = sizes.get(pack);
  if (!size) {
    size = c.store.headObject(key, { signal: c.signal }).then((info) => {
      if (!info) throw new CairnError('CAIRN_E_CORRUPT', `${key}: pack is missing`);
      return info.size;
    });
    size.catch(() => {});
    sizes.set(pack, size);
  }
  return size;
}

export async function fetchFrame(c: FetchContext, d: FrameDesc): Promise<Buffer> {
  const key = packKeyOf(c.lineage, d.pack);
  const where = `${key} frame at ${d.offset}`;
  if (d.size > c.limits.maxFrameBytes + 64) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `${where}: stored frame of ${d.size} bytes is over the cap`);
  if (d.offset + d.size > (await packSize(c, d.pack, key))) throw new CairnError('CAIRN_E_CORRUPT', `${where}: the index points outside its pack`);
  const raw = await c.store.getObject(key, { range: { start: d.offset, end: d.offset + d.size - 1 }, maxBytes: d.size, signal: c.signal });
  if (raw.length !== d.size) throw new CairnError('CAIRN_E_CORRUPT', `${where}: the index points outside its pack (got ${raw.length} of ${d.size} bytes)`);
  let compressed = raw;
  if (c.key) {
    const opened = openFrame(packKey(c.key, d.pack), packContext(c.lineage, d.pack), d.seq, raw, where);
    if (opened.consumed !== raw.length) throw new CairnError('CAIRN_E_CORRUPT', `${where}: frame length does not match the index`);
    compressed = opened.plaintext;
  }
  return decompressFrame(compressed, c.limits, where);
}

/** A FIFO of frames being fetched ahead, at most `depth` at once. */
export class FramePipeline {
  private readonly c: FetchContext;
  private readonly depth: number;
  private readonly queue: Array<{ desc: FrameDesc; data: Promise<Buffer> }> = [];
  private waiters: Array<() => void> = [];
  private closed = false;
  private failure: Error | undefined;
  private readonly consumerWaiters: Array<() => void> = [];

  constructor(c: FetchContext, depth: number) {
    this.c = c;
    this.depth = depth;
  }

  /** Producer: queues a frame, waiting while `depth` frames are already queued. */
  async push(desc: FrameDesc): Promise<void> {
    while (this.queue.length >= this.depth && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
    if (this.closed) throw this.failure ?? new CairnError('CAIRN_E_INTERNAL', 'frame pipeline closed');
    const data = fetchFrame(this.c, desc);
    data.catch(() => {});
    this.queue.push({ desc, data });
    this.consumerWaiters.shift()?.();
  }

  /** Producer: no more frames (or a failure to pass on). */
  close(err?: unknown): void {
    this.closed = true;
    if (err !== undefined) this.failure = err instanceof Error ? err : new Error('frame fetch failed', { cause: err });
    for (const w of this.consumerWaiters.splice(0)) w();
    for (const w of this.waiters.splice(0)) w();
  }

  /** Consumer: the next frame; it must be `expect` (the producer walks the same entries). */
  async next(expect: FrameDesc): Promise<Buffer> {
    while (this.queue.length === 0) {
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) throw new CairnError('CAIRN_E_INTERNAL', 'frame pipeline ended early');
      await new Promise<void>((r) => this.consumerWaiters.push(r));
    }
    const head = this.queue.shift()!;
    this.waiters.shift()?.();
    if (frameId(head.desc) !== frameId(expect)) throw new CairnError('CAIRN_E_INTERNAL', 'frame pipeline out of order');
    return head.data;
  }
}
