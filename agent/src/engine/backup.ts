// Backup of one directory tree (a volume) to object storage, in the format of docs/format.md:
// walk in index order -> entries cut into frames (tar-framer.ts) -> frames built, compressed and
// sealed on all cores by worker threads that also read the files (frame-job.ts) -> packs
// (multipart uploads) -> index -> manifest (written last, If-None-Match).
// Incremental: merged in the same order with the parent's index of the same lineage, an
// unchanged file (size, mtime, ctime, inode) points at its old bytes and is not read.
//
// The main thread does per entry only what needs no file's bytes: the walk (synchronous lstat),
// the parent merge, the headers of directories and links, the index. Progress totals grow as the
// walk finds files (there is no second walk to count them first); they are final, and
// `totalKnown` set, when the walk ends.
import { closeSync, readlinkSync, type BigIntStats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CairnError } from '../../../common/src/errors.ts';
import type { Secret } from '../../../common/src/secret.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { encodeHeader } from '../../../common/src/format/tar-header.ts';
import { checkBackupName, checkVolumeId, indexKey, lineageId, type Lineage } from '../../../common/src/format/layout.ts';
import { IndexWriter } from '../../../common/src/format/index-object.ts';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import type { Manifest, VolumeRecord } from '../../../common/src/format/manifest.ts';
import { checkKey } from '../../../common/src/format/seal.ts';
import { CompressPool } from './compress-pool.ts';
import { PackWriter, isAbort, type FrameRef, type WrittenFrame } from './pack-writer.ts';
import { TarFramer, type Batch, type Placed } from './tar-framer.ts';
import { openVerified, readXattrs } from './file-source.ts';
import { DEFER, GONE, STATS, TORN, type FrameResult } from './frame-job.ts';
import { walk, type WalkRoot } from './walk.ts';
import { writeManifest } from '../../../common/src/format/manifest-writer.ts';
import { Warnings, type Warning } from './warnings.ts';
import { ProgressReporter, type Progress } from './progress.ts';
import { openParentIndex, type ParentCursor } from './parent-index.ts';
import { defaultTuning, type Tuning } from './tuning.ts';
import { writeLease } from '../../../common/src/gc/pack-lease.ts';

export interface BackupOptions {
  backupName: string;
  /** The volume's id inside the backup (default "data"). */
  volumeId?: string;
  lineage: Lineage;
  /** An earlier backup of the same lineage: unchanged files reuse its stored bytes. */
  parent?: string;
  key?: Secret<Buffer>;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onWarning?: (w: Warning) => void;
  /** Write the backup's manifest after this volume (default true; false when a coordinator
   * collects several volumes into one manifest). */
  writeManifest?: boolean;
  source?: Record<string, string>;
  tuning?: Partial<Tuning>;
  /** A shared pool (the agent keeps one); one is made and closed per backup when absent. */
  pool?: CompressPool;
}

export interface BackupResult {
  volume: VolumeRecord;
  manifest?: Manifest;
  warnings: Warnings;
  /** Bytes read from files this run (new or changed data). */
  bytesRead: number;
  filesRead: number;
  filesUnchanged: number;
  durationMs: number;
}

/** Small files read whole: items [from, to) of one frame, consecutive in walk order. */
interface Run {
  batch: Batch;
  from: number;
  to: number;
}

/** A large file: its slices, one per frame, and what the ones written so far gave. */
interface Large {
  ie: IndexEntry;
  parts: Placed[];
  refs: FrameRef[];
  skip: number;
  torn: boolean;
}

/**
 * What waits to go into the index, in walk order: a ready entry (directory, symlink, hardlink,
 * unchanged file), or file entries waiting for their frames. Small files wait as runs (a frame
 * and a range of its items), not one object each: everything here lives long enough to reach
 * the old generation of the heap, and per-entry objects made the heap grow by tens of MiB on a
 * volume of tiny files (D3); their index entries are made from the frame's result instead.
 */
type Pending = IndexEntry | Run | Large;

function baseEntry(e: { path: Buffer; stat: BigIntStats }, type: IndexEntry['type'], st: BigIntStats = e.stat): IndexEntry {
  return {
    path: e.path, type, mode: Number(st.mode & 0o177777n), uid: Number(st.uid), gid: Number(st.gid),
    size: type === 'file' ? Number(st.size) : 0, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: Number(st.ino), nlink: Number(st.nlink),
  };
}

function tarHeader(ie: IndexEntry): Buffer {
  return encodeHeader({
    name: ie.path, type: ie.type, mode: ie.mode, uid: ie.uid, gid: ie.gid, size: ie.size,
    mtimeSeconds: Number(ie.mtimeNs / 1_000_000_000n), ...(ie.link ? { linkname: ie.link } : {}), ...(ie.xattrs ? { xattrs: ie.xattrs } : {}),
  });
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** The absolute path of entry `i` of a frame's items (handed back with its result), as a view. */
function itemPath(items: FrameResult['items'], i: number): Buffer {
  return asBuffer(items.paths.subarray(i > 0 ? items.pathEnd[i - 1]! : 0, items.pathEnd[i]));
}

export async function backup(rootPath: string, store: ObjectStore, opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const backupName = checkBackupName(opts.backupName);
  const volumeId = checkVolumeId(opts.volumeId ?? 'data');
  const lineage = lineageId(opts.lineage);
  const key = opts.key ? checkKey(opts.key) : undefined;
  const tuning: Tuning = { ...defaultTuning, ...opts.tuning };
  const internal = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, internal.signal]) : internal.signal;
  const warnings = new Warnings(100, opts.onWarning);
  const progress = new ProgressReporter(opts.onProgress);

  const rootStat = await lstat(rootPath, { bigint: true }).catch(() => undefined);
  if (!rootStat?.isDirectory()) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `backup root ${rootPath} is not a directory`);
  const root: WalkRoot = { abs: Buffer.from(rootPath), real: await realpath(rootPath), dev: rootStat.dev };

  const ownPool = opts.pool === undefined;
  const pool = opts.pool ?? new CompressPool(tuning.workers);
  const packs = new PackWriter({ store, lineage, pool, level: tuning.level, partSize: tuning.partSize, queueSize: tuning.queueSize, maxInFlight: tuning.framesInFlight, signal, ...(key ? { key } : {}) });
  // A file is read whole into one frame up to this size; larger ones are cut into frame slices.
  const framer = new TarFramer(packs, tuning.frameBytes, tuning.frameEntries, root, Math.min(tuning.smallFileBytes, tuning.frameBytes));

  const idxKey = indexKey(backupName, volumeId);
  const indexStream = new PassThrough({ highWaterMark: 1 << 20 });
  const indexUpload = store.upload(idxKey, indexStream, { signal, contentType: 'application/zstd' });
  let indexUploadError: unknown;
  indexUpload.catch((err: unknown) => {
    if (!isAbort(err)) indexUploadError = err;
  });
  const index = new IndexWriter({
    objectKey: idxKey, header: { backup: backupName, volume: volumeId, lineage }, ...(key ? { key } : {}),
    out: async (chunk) => {
      if (indexStream.write(chunk)) return;
      try {
        await Promise.race([once(indexStream, 'drain', { signal }), indexUpload.then(() => { throw new Error('index upload ended early'); })]);
      } catch (err) {
        // As for packs: the upload's own error, not that of the stream it destroyed.
        throw await indexUpload.then(() => err, (cause: unknown) => cause);
      }
    },
  });

  let parent: ParentCursor | undefined;
  let lease: string | undefined;
  let bytesRead = 0;
  let filesRead = 0;
  let filesUnchanged = 0;
  const p = progress.p;
  try {
    if (opts.parent) {
      parent = await openParentIndex(store, checkBackupName(opts.parent), lineage, key, signal);
      lease = await writeLease(store, { backup: backupName, lineage, packs: parent.packs, expiresAt: Date.now() + tuning.leaseMs }, signal);
    }
    const hardlinks = new Map<string, Buffer>();

    // Index entries in walk order; the head waits for its frames to be in a pack.
    const queue: Pending[] = [];
    let head = 0;
    /** Entries in the queue (a run counts its files). */
    let waiting = 0;
    const rootLen = root.abs.length + 1;
    const changed = (path: Buffer) => warnings.add('CAIRN_W_FILE_CHANGED', path, 'changed while it was read; the stored copy may be inconsistent');
    const vanished = (path: Buffer) => warnings.add('CAIRN_W_FILE_VANISHED', path, 'changed into something else or removed before it was read');

    /** The index entry of item `i` of a written frame (a small file read whole); null when it vanished. */
    const fileEntry = (w: WrittenFrame, i: number): IndexEntry | null => {
      const r = w.result;
      const path = itemPath(r.items, i).subarray(rootLen);
      const flags = r.flags[i]!;
      if (flags & GONE) {
        vanished(path);
        return null;
      }
      const s = STATS * i;
      const ie: IndexEntry = {
        path, type: 'file', mode: r.stats[s]!, uid: r.stats[s + 1]!, gid: r.stats[s + 2]!, size: r.stats[s + 3]!,
        mtimeNs: r.times[2 * i]!, ctimeNs: r.times[2 * i + 1]!, ino: r.stats[s + 4]!, nlink: r.stats[s + 5]!,
      };
      if (r.xattrs.length > 0) {
        const x = r.xattrs.find(([at]) => at === i)?.[1];
        if (x) ie.xattrs = x.map(([n, v]) => [n, asBuffer(v)]);
      }
      if (flags & TORN) {
        ie.torn = true;
        changed(path);
      }
      if (ie.size > 0) ie.loc = { pack: w.ref.pack, seq: w.ref.seq, offset: w.ref.offset, frames: [w.ref.size], skip: r.dataAt[i]! };
      filesRead++;
      bytesRead += ie.size;
      p.filesDone++;
      p.bytesDone += ie.size;
      return ie;
    };

    /**
     * A large file (or a small one a worker deferred): its header from the status of a verified
     * descriptor (which the slices are compared with), then slices that fill frames, read by the
     * workers. Undefined when the file is no longer the one the walk saw.
     */
    const placeLarge = async (abs: Buffer, path: Buffer, ino: bigint, dev: bigint): Promise<Pending | undefined> => {
      const f = openVerified(abs, ino, dev, root);
      if (!f) {
        vanished(path);
        return undefined;
      }
      let ie: IndexEntry;
      try {
        ie = baseEntry({ path, stat: f.stat }, 'file');
        const x = readXattrs(f.fd);
        if (x.length > 0) ie.xattrs = x;
      } finally {
        closeSync(f.fd);
      }
      const room = framer.raw(tarHeader(ie));
      if (room) await room;
      const parts = await framer.slices(abs, f.stat, signal);
      bytesRead += ie.size;
      p.bytesDone += ie.size;
      if (parts.length > 0) return { ie, parts, refs: [], skip: 0, torn: false };
      filesRead++;
      p.filesDone++;
      return ie;
    };

    /** Writes the head of the queue to the index while it is ready; with `wait`, all of it. */
    const drain = async (wait: boolean): Promise<void> => {
      p.bytesStored = packs.storedBytes;
      next: while (head < queue.length) {
        const item = queue[head]!;
        if ('batch' in item) {
          const w = item.batch.done ?? (wait ? await framer.written(item.batch) : undefined);
          if (!w) break;
          while (item.from < item.to) {
            const i = item.from++;
            waiting--;
            if (w.result.flags[i]! & DEFER) {
              // Not a small file any more: stored as a large one, in its place in the index.
              const { ids } = w.result.items;
              const abs = itemPath(w.result.items, i);
              const placed = await placeLarge(abs, abs.subarray(rootLen), ids[2 * i]!, ids[2 * i + 1]!);
              if (placed) {
                queue.splice(head, 0, placed);
                waiting++;
                continue next;
              }
              continue;
            }
            const ie = fileEntry(w, i);
            if (ie) {
              const full = index.add(ie);
              if (full) await full;
            }
          }
        } else if ('parts' in item) {
          // Large file: every slice's frame, in order (consecutive frames of one pack).
          while (item.parts.length > 0) {
            const { batch, index: i } = item.parts[0]!;
            const w = batch.done ?? (wait ? await framer.written(batch) : undefined);
            if (!w) break;
            item.parts.shift();
            if (item.refs.length === 0) item.skip = w.result.dataAt[i]!;
            item.refs.push(w.ref);
            if (w.result.flags[i]! & TORN) item.torn = true;
          }
          if (item.parts.length > 0) break;
          const ie = item.ie;
          const first = item.refs[0]!;
          ie.loc = { pack: first.pack, seq: first.seq, offset: first.offset, frames: item.refs.map((r) => r.size), skip: item.skip };
          if (item.torn) {
            ie.torn = true;
            changed(ie.path);
          }
          filesRead++;
          p.filesDone++;
          waiting--;
          await index.add(ie);
        } else {
          waiting--;
          const full = index.add(item);
          if (full) await full;
        }
        queue[head++] = undefined as unknown as Pending;
      }
      if (head > 1024 && head * 2 > queue.length) {
        queue.splice(0, head);
        head = 0;
      }
    };

    /**
     * Queues `item` (or writes it at once when nothing waits ahead of it). Returns a promise only
     * when there is something to wait for (the index's upload, or entries over `indexPending`):
     * most entries of a large tree need no await.
     */
    const add = (item: Pending): Promise<void> | undefined => {
      if (head === queue.length && !('batch' in item) && !('parts' in item)) return index.add(item);
      queue.push(item);
      return ++waiting > tuning.indexPending ? catchUp() : undefined;
    };

    /** Entries may be waiting for the frame being filled (a changed file followed by many
     * unchanged ones adds nothing to it): submit it, or the wait for them never ends. */
    const catchUp = async (): Promise<void> => {
      await framer.flush();
      await drain(true);
    };

    /** Queues a small file placed in a frame: extends the run it continues, if any. */
    const addFile = (placed: Placed): Promise<void> | undefined => {
      const last = queue.length > head ? queue[queue.length - 1] : undefined;
      if (last && 'batch' in last && last.batch === placed.batch && last.to === placed.index) {
        last.to++;
        return ++waiting > tuning.indexPending ? catchUp() : undefined;
      }
      return add({ batch: placed.batch, from: placed.index, to: placed.index + 1 });
    };

    /** Whether the head of the queue can be written now. */
    const headReady = (): boolean => {
      if (head >= queue.length) return false;
      const item = queue[head]!;
      if ('batch' in item) return item.batch.done !== undefined;
      if ('parts' in item) return item.parts.length === 0 || item.parts[0]!.batch.done !== undefined;
      return true;
    };

    let lastYield = performance.now();
    for (const e of walk(root, warnings, signal)) {
      // The walk and the headers are synchronous: let the uploads and the workers' replies in.
      if (performance.now() - lastYield > 5) {
        await yieldToLoop();
        signal.throwIfAborted();
        lastYield = performance.now();
      }
      if (headReady()) await drain(false);
      if (e.type === 'dir') {
        const ie = baseEntry(e, 'dir');
        if (e.xattrs && e.xattrs.length > 0) ie.xattrs = e.xattrs;
        const room = e.path.length > 0 ? framer.raw(tarHeader(ie)) : undefined;
        if (room) await room;
        const wait = add(ie);
        if (wait) await wait;
        continue;
      }
      if (e.type === 'symlink') {
        // The link may vanish or change into something else after the walk saw it.
        let link: Buffer | undefined;
        try {
          link = readlinkSync(e.abs, { encoding: 'buffer' });
        } catch {
          link = undefined;
        }
        if (!link) {
          vanished(e.path);
          continue;
        }
        const ie = { ...baseEntry(e, 'symlink'), link };
        const room = framer.raw(tarHeader(ie));
        if (room) await room;
        const wait = add(ie);
        if (wait) await wait;
        continue;
      }
      p.totalFiles++;
      p.totalBytes += Number(e.stat.size);
      if (e.stat.nlink > 1n) {
        const id = `${e.stat.dev}:${e.stat.ino}`;
        const first = hardlinks.get(id);
        if (first) {
          const ie = { ...baseEntry(e, 'hardlink'), link: first };
          const room = framer.raw(tarHeader(ie));
          if (room) await room;
          const wait = add(ie);
          if (wait) await wait;
          p.filesDone++;
          p.bytesDone += Number(e.stat.size);
          continue;
        }
        hardlinks.set(id, e.path);
      }
      const old = parent ? await parent.seek(e.path) : undefined;
      if (old && old.type === 'file' && BigInt(old.size) === e.stat.size && old.mtimeNs === e.stat.mtimeNs && old.ctimeNs === e.stat.ctimeNs
        && BigInt(old.ino) === e.stat.ino && (old.size === 0 || old.loc !== undefined)) {
        const ie = baseEntry(e, 'file');
        if (old.loc) ie.loc = old.loc;
        if (old.xattrs) ie.xattrs = old.xattrs;
        if (old.torn) ie.torn = true;
        filesUnchanged++;
        p.filesDone++;
        p.bytesDone += ie.size;
        const wait = add(ie);
        if (wait) await wait;
        continue;
      }
      if (framer.isSmall(Number(e.stat.size))) {
        const size = Number(e.stat.size);
        if (framer.overflows(size)) await framer.flush();
        const placed = framer.file(e.abs, e.stat.ino, e.stat.dev, size);
        if (framer.full) await framer.flush();
        const wait = addFile(placed);
        if (wait) await wait;
      } else {
        const item = await placeLarge(e.abs, e.path, e.stat.ino, e.stat.dev);
        const wait = item ? add(item) : undefined;
        if (wait) await wait;
      }
      if (framer.rawInPack >= tuning.packBytes) {
        await framer.flush();
        packs.rotate();
        framer.rawInPack = 0;
      }
    }
    p.totalKnown = true;
    await framer.flush();
    await drain(true);
    await packs.finish();
    const summary = await index.finish(packs.packs);
    indexStream.end();
    await indexUpload;
    await parent?.close();
    p.bytesStored = packs.storedBytes + summary.bytes;

    const volume: VolumeRecord = {
      id: volumeId, lineage, index: idxKey, indexSha256: summary.sha256, entries: summary.entries,
      files: progress.p.filesDone, bytes: progress.p.bytesDone, storedBytes: packs.storedBytes + summary.bytes,
      packs: summary.packs, warnings: warnings.total, ...(opts.source ? { source: opts.source } : {}),
    };
    const result: BackupResult = { volume, warnings, bytesRead, filesRead, filesUnchanged, durationMs: Date.now() - started };
    if (opts.writeManifest !== false) {
      result.manifest = await writeManifest(store, backupName, [volume], { key: opts.key, signal, createdAt: new Date(started), ...(opts.parent ? { parent: opts.parent } : {}) });
    }
    if (lease) await store.deleteObject(lease, { signal });
    progress.finish();
    return result;
  } catch (err) {
    progress.stop();
    internal.abort(err);
    packs.destroy(err as Error);
    indexStream.destroy(err as Error);
    // Wait for every upload to finish aborting, so no multipart upload outlives the backup.
    await Promise.allSettled([indexUpload, packs.settled(), parent?.close(), lease ? store.deleteObject(lease) : undefined]);
    if (opts.signal?.aborted) throw new CairnError('CAIRN_E_ABORTED', `backup ${backupName} was cancelled`, { cause: err });
    // When one stage fails the others are aborted; report the failure that caused it.
    if (isAbort(err)) throw packs.uploadError ?? indexUploadError ?? err;
    throw err;
  } finally {
    if (ownPool) await pool.close();
  }
}


