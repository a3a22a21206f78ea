// A pool of worker threads (one per core) for the data path: building, compressing and sealing
// backup frames, and opening, decompressing and writing restore frames. Jobs are handed over by
// transferring their buffers (no copy), and results come back the same way. A job's failure is
// rebuilt as a CairnError with the worker's code; a worker that dies fails every job.
import { readFileSync } from 'node:fs';
import { getCompileCacheDir, registerHooks, stripTypeScriptTypes } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { CairnError, type ErrorCode } from '../../../common/src/errors.ts';
import type { Job, JobMessage, JobReply } from './compress-worker.ts';
import { frameJobViews, type FrameJob, type FrameResult } from './frame-job.ts';
import { restoreJobViews, type RestoreJob, type RestoreResult } from './restore-job.ts';
import { ownedBuffers } from './transfer.ts';

const entry = new URL('./compress-worker.ts', import.meta.url);

/**
 * The worker's modules with their types stripped, by URL; undefined when that cannot be done
 * (then the worker loads them itself). Stripping them here, where the TypeScript stripper is
 * loaded anyway, keeps a copy of it (a WebAssembly instance) out of every worker: measured, a
 * worker that has built a few frames holds about 20 MiB instead of 27, which counts against the
 * peak-RSS target of a backup of tiny files (D3).
 */
let sources: Record<string, string> | null | undefined;
function workerSources(): Record<string, string> | undefined {
  if (sources !== undefined) return sources ?? undefined;
  sources = null;
  if (typeof registerHooks !== 'function' || typeof stripTypeScriptTypes !== 'function') return undefined;
  // With a compile cache the stripper may never be loaded here: the workers read the cache too.
  if (typeof getCompileCacheDir === 'function' && getCompileCacheDir() !== undefined) return undefined;
  const out: Record<string, string> = {};
  const warn = Object.getOwnPropertyDescriptor(process, 'emitWarning')!;
  // stripTypeScriptTypes is marked experimental; its one-time warning says nothing about this use.
  Object.defineProperty(process, 'emitWarning', { ...warn, value: () => {} });
  try {
    const todo = [fileURLToPath(entry)];
    while (todo.length > 0) {
      const file = todo.pop()!;
      const url = pathToFileURL(file).href;
      if (out[url] !== undefined) continue;
      const js = stripTypeScriptTypes(readFileSync(file, 'utf8'));
      out[url] = js;
      for (const m of js.matchAll(/(?:from|import)\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) todo.push(resolve(dirname(file), m[1]!));
    }
    sources = out;
  } catch {
    sources = null;
  } finally {
    Object.defineProperty(process, 'emitWarning', warn);
  }
  return sources ?? undefined;
}

/** Serves the stripped modules to the worker's loader, then loads the worker's entry. */
const bootstrap = `
const { registerHooks } = require('node:module');
const { workerData } = require('node:worker_threads');
const sources = workerData.sources;
registerHooks({
  load(url, context, nextLoad) {
    const source = sources[url];
    return source === undefined ? nextLoad(url, context) : { format: 'module', source, shortCircuit: true };
  },
});
import(workerData.entry).catch((err) => { setImmediate(() => { throw err; }); });
`;

interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
}

export class CompressPool {
  private readonly workers: Array<Worker | undefined>;
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[];
  /** Per started worker: resolves when its thread has ended. */
  private readonly exited: Array<Promise<void>> = [];
  private nextId = 0;
  private failed: Error | undefined;
  private closing = false;

  constructor(size = Math.max(1, availableParallelism())) {
    // Workers start when the first job needs one, so a pool that only ever sees a little work
    // (a small volume) costs one thread's memory, not one per core.
    this.workers = Array.from({ length: size }, () => undefined);
    this.load = this.workers.map(() => 0);
  }

  get size(): number {
    return this.workers.length;
  }

  private start(i: number): Worker {
    const src = workerSources();
    const w = src ? new Worker(bootstrap, { eval: true, workerData: { sources: src, entry: entry.href } }) : new Worker(entry);
    w.on('message', (r: JobReply) => {
      this.load[i]!--;
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (!p) return;
      if (r.error) p.reject(new CairnError(r.error.code as ErrorCode, r.error.message));
      else p.resolve(r.result);
    });
    w.on('error', (err: Error) => this.fail(err));
    this.exited[i] = new Promise((resolve) => w.once('exit', (code) => {
      // A worker that ends while jobs are pending (crashed, killed) must not leave them waiting.
      if (!this.closing) this.fail(new Error(`worker exited with code ${code}`));
      resolve();
    }));
    this.workers[i] = w;
    return w;
  }

  /** Runs a job on the least loaded worker, giving it the memory of `views` that own theirs (do not use them afterwards). */
  private run(job: Job, views: ArrayBufferView[]): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closing) return Promise.reject(new CairnError('CAIRN_E_INTERNAL', 'the compression pool is closed'));
    const id = this.nextId++;
    // The least loaded running worker; another one is started only when all running ones are busy.
    let w = -1;
    for (let i = 0; i < this.workers.length; i++) if (this.workers[i] && (w < 0 || this.load[i]! < this.load[w]!)) w = i;
    if (w < 0 || this.load[w]! > 0) {
      const idle = this.workers.findIndex((x) => x === undefined);
      if (idle >= 0) w = idle;
    }
    const worker = this.workers[w] ?? this.start(w);
    this.load[w]!++;
    const transfer = ownedBuffers(views);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, job } satisfies JobMessage, transfer);
    });
  }

  /** Builds, compresses and seals one backup frame. */
  frame(job: FrameJob): Promise<FrameResult> {
    return this.run(job, frameJobViews(job)) as Promise<FrameResult>;
  }

  /**
   * Starts a worker and waits until its modules are loaded (and written to Node's compile cache,
   * when one is on): the agent warms the cache of its job processes with it (compile-cache.ts).
   */
  async ping(): Promise<void> {
    await this.run({ type: 'ping' }, []);
  }

  /** Opens, decompresses and writes one restore frame. */
  restore(job: RestoreJob): Promise<RestoreResult> {
    return this.run(job, restoreJobViews(job)) as Promise<RestoreResult>;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = new CairnError('CAIRN_E_INTERNAL', `compression worker failed: ${err.message}`, { cause: err });
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
  }

  /**
   * Ends the workers once the jobs already given to them are done. A worker is not terminated in
   * the middle of a job: a thread stopped inside a native addon aborts the whole process
   * (zstd-napi throws a C++ exception nothing catches, fs-xattr fails an assertion), which a job
   * process would report as ended without a result. So a backup that fails or is cancelled while
   * frames are being compressed waits for those frames (bounded by the frames in flight). A
   * worker still running after `graceMs` is terminated all the same.
   */
  async close(graceMs = 60_000): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map(async (w, i) => {
      if (!w) return;
      const timer = setTimeout(() => void w.terminate(), graceMs);
      w.postMessage({ id: -1, job: { type: 'close' } } satisfies JobMessage);
      await this.exited[i];
      clearTimeout(timer);
    }));
  }
}
