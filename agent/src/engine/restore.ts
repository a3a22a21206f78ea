// Restore of one volume of a backup into a target directory, full or a subset of paths. The
// index is streamed and every entry checked (restore-guard.ts) before anything is written; file
// data comes from ranged GETs of only the frames needed, fetched ahead in order.
import { lstat, realpath, type FileHandle } from 'node:fs/promises';
import { CairnError } from '../../../common/src/errors.ts';
import type { Secret } from '../../../common/src/secret.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { isWithin } from '../../../common/src/format/path-order.ts';
import { checkBackupName, manifestKey } from '../../../common/src/format/layout.ts';
import { decodeManifest, type Manifest, type VolumeRecord } from '../../../common/src/format/manifest.ts';
import { openIndex } from '../../../common/src/format/index-object.ts';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import { checkKey } from '../../../common/src/format/seal.ts';
import { FramePipeline, frameId, framesOf, type FrameDesc } from './frame-fetcher.ts';
import { RestoreGuard, selectedBy, shown, type RestoreLimits } from './restore-guard.ts';
import { RestoreTarget } from './restore-target.ts';
import { defaultReadLimits } from './read-limits.ts';
import { Warnings, type Warning } from './warnings.ts';
import { ProgressReporter, type Progress } from './progress.ts';
import { TaskPool } from './task-pool.ts';

export interface RestoreOptions {
  /** Which volume of the backup (default: its only volume). */
  volumeId?: string;
  /** Restore only these relative paths (and what is below them); raw bytes or UTF-8 text. */
  paths?: Array<string | Buffer>;
  /** Cap on the sum of file sizes: the target volume's capacity. */
  maxBytes: number;
  maxEntries?: number;
  maxDepth?: number;
  key?: Secret<Buffer>;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onWarning?: (w: Warning) => void;
  /** Frames fetched ahead (default 8). */
  fetchAhead?: number;
}

export interface RestoreResult {
  manifest: Manifest;
  volume: VolumeRecord;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  bytes: number;
  setidStripped: number;
  warnings: Warnings;
  durationMs: number;
}

interface Pending {
  e: IndexEntry;
}

export async function restore(store: ObjectStore, backupName: string, targetPath: string, opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  checkBackupName(backupName);
  const key = opts.key ? checkKey(opts.key) : undefined;
  const signal = opts.signal ?? new AbortController().signal;
  const warnings = new Warnings(100, opts.onWarning);
  const progress = new ProgressReporter(opts.onProgress);
  const limits: RestoreLimits = { maxBytes: opts.maxBytes, maxEntries: opts.maxEntries ?? 50_000_000, maxDepth: opts.maxDepth ?? 512 };

  const mk = manifestKey(backupName);
  const manifest = decodeManifest(await store.getObject(mk, { signal, maxBytes: 16 << 20 }), mk, backupName, key);
  const volume = opts.volumeId ? manifest.volumes.find((v) => v.id === opts.volumeId) : manifest.volumes.length === 1 ? manifest.volumes[0] : undefined;
  if (!volume) {
    throw new CairnError('CAIRN_E_NOT_FOUND', opts.volumeId ? `backup ${backupName} has no volume ${opts.volumeId}` : `backup ${backupName} has ${manifest.volumes.length} volumes: name one`);
  }
  progress.p.totalBytes = volume.bytes;
  progress.p.totalFiles = volume.files;
  progress.p.totalKnown = true;

  const st = await lstat(targetPath, { bigint: true }).catch(() => undefined);
  if (!st?.isDirectory()) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `restore target ${targetPath} is not a directory`);
  const target = new RestoreTarget({ abs: Buffer.from(targetPath), real: await realpath(targetPath), dev: st.dev }, warnings);
  const subset = opts.paths?.map((p) => (typeof p === 'string' ? Buffer.from(p.replace(/^\/+|\/+$/g, '')) : p));

  const stream = await store.getObjectStream(volume.index, { signal });
  const reader = await openIndex(stream, { objectKey: volume.index, expectSha256: volume.indexSha256, limits: defaultReadLimits, ...(key ? { key } : {}) });
  if (reader.header.lineage !== volume.lineage || reader.header.backup !== backupName || reader.header.volume !== volume.id) {
    throw new CairnError('CAIRN_E_CORRUPT', `${volume.index}: index header does not belong to backup ${backupName} volume ${volume.id}`);
  }
  const pipeline = new FramePipeline({ store, lineage: volume.lineage, key, limits: defaultReadLimits, signal }, opts.fetchAhead ?? 8);

  // Producer: reads the index ahead of the writer and queues the frames the writer will need.
  const queue: Pending[] = [];
  let queueDone = false;
  let queueError: Error | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let stopped = false;
  const producer = (async () => {
    let last: string | undefined;
    try {
      for (;;) {
        const r = await reader.entries.next();
        if (r.done) break;
        const e = r.value;
        if (!selectedBy(subset, e.path)) continue;
        while (queue.length >= 10_000 && !stopped) await new Promise<void>((w) => (wakeProducer = w));
        if (stopped) break;
        queue.push({ e });
        wakeConsumer?.();
        if (e.type === 'file' && e.size > 0 && e.loc) {
          for (const d of framesOf(e.loc)) {
            const id = frameId(d);
            if (id === last) continue;
            last = id;
            await pipeline.push(d);
          }
        }
      }
      pipeline.close();
    } catch (err) {
      queueError = err instanceof Error ? err : new Error('index read failed', { cause: err });
      pipeline.close(err);
    } finally {
      queueDone = true;
      wakeConsumer?.();
    }
  })();

  const guard = new RestoreGuard(limits);
  const writers = new TaskPool(16);
  const dirStack: Array<{ e: IndexEntry; mode: number }> = [];
  const counts = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  let current: { id: string; data: Buffer } | undefined;
  const frame = async (d: FrameDesc): Promise<Buffer> => {
    const id = frameId(d);
    if (current?.id !== id) current = { id, data: await pipeline.next(d) };
    return current.data;
  };

  try {
    for (;;) {
      signal.throwIfAborted();
      if (queue.length === 0) {
        if (queueDone) break;
        await new Promise<void>((w) => (wakeConsumer = w));
        continue;
      }
      const { e } = queue.shift()!;
      wakeProducer?.();
      const stripped = guard.setidStripped;
      const mode = guard.check(e);
      if (guard.setidStripped > stripped) warnings.add('CAIRN_W_SETID_STRIPPED', e.path, 'setuid/setgid bits are never restored');
      if (target.root.abs.length + 1 + e.path.length > 4095) {
        throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `entry ${shown(e.path)}: its path in the target would exceed PATH_MAX (4095 bytes)`);
      }
      while (dirStack.length > 0 && !isWithin(e.path, dirStack[dirStack.length - 1]!.e.path)) {
        const d = dirStack.pop()!;
        await writers.drain(); // its files must be complete before its metadata is applied
        await target.finishDir(d.e, d.mode);
      }
      switch (e.type) {
        case 'dir':
          await target.mkdir(e.path);
          dirStack.push({ e, mode });
          counts.dirs++;
          break;
        case 'symlink':
          await target.symlink(e.path, e.link!, e);
          counts.symlinks++;
          break;
        case 'hardlink':
          await writers.drain(); // the link's target may still be being written
          if (subset && !selectedBy(subset, e.link!)) {
            warnings.add('CAIRN_W_FILE_VANISHED', e.path, `hardlink to ${shown(e.link!)}, which is not in the restored paths`);
            break;
          }
          await target.hardlink(e.path, e.link!);
          counts.hardlinks++;
          progress.p.filesDone++;
          break;
        case 'file': {
          if (e.size <= SMALL_FILE) {
            // Small files: their bytes are taken from the frames in order, then created and
            // written concurrently (each is a handful of syscalls that would otherwise queue).
            const data = e.size > 0 ? await readData(e, frame) : Buffer.alloc(0);
            await writers.add(async () => {
              const fh = await target.createFile(e.path);
              try {
                if (data.length > 0) await writeAll(fh, data, 0);
                await target.applyMetadata(fh, e, mode);
              } finally {
                await fh.close();
              }
            });
          } else {
            const fh = await target.createFile(e.path);
            try {
              await writeData(fh, e, frame);
              await target.applyMetadata(fh, e, mode);
            } finally {
              await fh.close();
            }
          }
          counts.files++;
          counts.bytes += e.size;
          progress.p.filesDone++;
          progress.p.bytesDone += e.size;
          break;
        }
      }
    }
    if (queueError !== undefined) throw queueError;
    await writers.drain();
    while (dirStack.length > 0) {
      const d = dirStack.pop()!;
      await target.finishDir(d.e, d.mode);
    }
    await producer;
    progress.finish();
    return { manifest, volume, ...counts, setidStripped: guard.setidStripped, warnings, durationMs: Date.now() - started };
  } catch (err) {
    progress.stop();
    await writers.settle();
    stopped = true;
    wakeProducer?.();
    stream.destroy();
    pipeline.close(err);
    await producer;
    if (opts.signal?.aborted) throw new CairnError('CAIRN_E_ABORTED', `restore of ${backupName} was cancelled`, { cause: err });
    throw err;
  }
}

const SMALL_FILE = 1 << 20;

async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** A small file's bytes gathered from its frames (taken in order from the pipeline). */
async function readData(e: IndexEntry, frame: (d: FrameDesc) => Promise<Buffer>): Promise<Buffer> {
  const out = Buffer.allocUnsafe(e.size);
  let filled = 0;
  let skip = e.loc!.skip;
  for (const d of framesOf(e.loc!)) {
    if (filled === e.size) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shown(e.path)}: lists more frames than its data needs`);
    const data = await frame(d);
    if (skip > data.length) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shown(e.path)}: data offset is past its frame`);
    filled += data.copy(out, filled, skip, skip + Math.min(e.size - filled, data.length - skip));
    skip = 0;
  }
  if (filled < e.size) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shown(e.path)}: its frames hold ${filled} of ${e.size} bytes`);
  return out;
}

async function writeData(fh: FileHandle, e: IndexEntry, frame: (d: FrameDesc) => Promise<Buffer>): Promise<void> {
  const loc = e.loc!;
  let remaining = e.size;
  let position = 0;
  let skip = loc.skip;
  for (const d of framesOf(loc)) {
    if (remaining === 0) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shown(e.path)}: lists more frames than its data needs`);
    const data = await frame(d);
    if (skip > data.length) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shown(e.path)}: data offset is past its frame`);
    const n = Math.min(remaining, data.length - skip);
    let done = 0;
    while (done < n) {
      const { bytesWritten } = await fh.write(data, skip + done, n - done, position + done);
      done += bytesWritten;
    }
    position += n;
    remaining -= n;
    skip = 0;
  }
  if (remaining > 0) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shown(e.path)}: its frames hold ${e.size - remaining} of ${e.size} bytes`);
}
