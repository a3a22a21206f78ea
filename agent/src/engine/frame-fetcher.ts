// Fetching the frames a restore needs: each frame is one ranged GET, checked against its pack's
// size and the frame cap. Opening and decompressing happen in the workers (restore-job.ts); the
// main thread only reads the size the frame declares, to plan where its bytes go.
import { createDecipheriv } from 'node:crypto';
import { CairnError } from '../../../common/src/errors.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import type { DataLocation } from '../../../common/src/format/index-entry.ts';
import { packKeyOf } from '../../../common/src/format/layout.ts';
import { packContext, packKey } from '../../../common/src/format/seal.ts';
import { declaredContentSize, type FrameLimits } from '../../../common/src/format/zstd-frame.ts';

export interface FrameDesc {
  pack: string;
  seq: number;
  offset: number;
  size: number;
}

/** One string per frame (a hostile index may give the same offset another size or sequence number: another frame). */
export const frameId = (d: FrameDesc): string => `${d.pack}@${d.offset}+${d.size}#${d.seq}`;

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

/** What a worker needs to open a frame of a pack, and where it is, for errors. */
export interface FrameSource {
  where: string;
  seal?: { key: Buffer; context: string; seq: number };
}

/** Pack sizes (each looked up once) and pack keys of one restore. */
export class FrameFetcher {
  private readonly c: FetchContext;
  private readonly sizes = new Map<string, Promise<number>>();
  private readonly keys = new Map<string, Buffer>();

  constructor(c: FetchContext) {
    this.c = c;
  }

  private packSize(pack: string, key: string): Promise<number> {
    let size = this.sizes.get(pack);
    if (!size) {
      size = this.c.store.headObject(key, { signal: this.c.signal }).then((info) => {
        if (!info) throw new CairnError('CAIRN_E_CORRUPT', `${key}: pack is missing`);
        return info.size;
      });
      size.catch(() => {});
      this.sizes.set(pack, size);
    }
    return size;
  }

  source(d: FrameDesc): FrameSource {
    const where = `${packKeyOf(this.c.lineage, d.pack)} frame at ${d.offset}`;
    if (!this.c.key) return { where };
    let key = this.keys.get(d.pack);
    if (!key) {
      key = packKey(this.c.key, d.pack);
      this.keys.set(d.pack, key);
    }
    return { where, seal: { key, context: packContext(this.c.lineage, d.pack), seq: d.seq } };
  }

  /** The frame's stored bytes (one ranged GET), checked against its pack and the caps. */
  async fetch(d: FrameDesc): Promise<Buffer> {
    const key = packKeyOf(this.c.lineage, d.pack);
    const where = `${key} frame at ${d.offset}`;
    if (d.size > this.c.limits.maxFrameBytes + 64) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `${where}: stored frame of ${d.size} bytes is over the cap`);
    if (d.offset + d.size > (await this.packSize(d.pack, key))) throw new CairnError('CAIRN_E_CORRUPT', `${where}: the index points outside its pack`);
    const raw = await this.c.store.getObject(key, { range: { start: d.offset, end: d.offset + d.size - 1 }, maxBytes: d.size, signal: this.c.signal });
    if (raw.length !== d.size) throw new CairnError('CAIRN_E_CORRUPT', `${where}: the index points outside its pack (got ${raw.length} of ${d.size} bytes)`);
    return raw;
  }

  /**
   * The decompressed size the frame declares, for planning only: with a key it is read from the
   * decrypted but not yet authenticated start of the frame, so the worker checks the frame's
   * real size after authentication and refuses the frame when it differs. Undefined when no
   * size can be read (the worker then reports what is wrong with the frame).
   */
  declaredSize(src: FrameSource, stored: Buffer): number | undefined {
    let head: Buffer = stored;
    if (src.seal) {
      // u32 length | u8 flags | ciphertext | tag; the zstd frame header is at most 18 bytes.
      if (stored.length < 5 + 16) return undefined;
      const nonce = Buffer.alloc(12);
      nonce.writeBigUInt64BE(BigInt(src.seal.seq), 4);
      const body = stored.subarray(5, Math.min(stored.length - 16, 5 + 32));
      head = createDecipheriv('aes-256-gcm', src.seal.key, nonce).update(body);
    }
    return declaredContentSize(head);
  }
}
