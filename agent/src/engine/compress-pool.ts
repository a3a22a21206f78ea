// A pool of worker threads that compress frames on all cores. Frames are handed over by
// transferring their memory (no copy); results come back the same way.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { CairnError } from '../../../common/src/errors.ts';
import type { CompressJob, CompressResult } from './compress-worker.ts';

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

export class CompressPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[];
  private nextId = 0;
  private failed: Error | undefined;

  constructor(size = Math.max(1, availableParallelism())) {
    this.workers = Array.from({ length: size }, () => new Worker(new URL('./compress-worker.ts', import.meta.url)));
    this.load = this.workers.map(() => 0);
    this.workers.forEach((w, i) => {
      w.on('message', (r: CompressResult) => {
        this.load[i]!--;
        const p = this.pending.get(r.id);
        this.pending.delete(r.id);
        if (!p) return;
        if (r.data) p.resolve(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength));
        else p.reject(new CairnError('CAIRN_E_INTERNAL', `compression failed: ${r.error}`));
      });
      w.on('error', (err: Error) => this.fail(err));
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** Compresses `data` (whose memory is transferred: do not use it afterwards). */
  compress(data: Buffer, level: number, seal?: CompressJob['seal']): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer
      ? new Uint8Array(data.buffer)
      : Uint8Array.from(data);
    let w = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[w]!) w = i;
    this.load[w]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const job: CompressJob = { id, data: own, level, ...(seal ? { seal } : {}) };
      this.workers[w]!.postMessage(job, [own.buffer]);
    });
  }

  private fail(err: Error): void {
    this.failed = new CairnError('CAIRN_E_INTERNAL', `compression worker failed: ${err.message}`, { cause: err });
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
