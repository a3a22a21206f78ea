// Restore of one volume of a backup into a target directory, full or a subset of paths. The
// index is streamed and every entry checked (restore-guard.ts) before anything is written; file
// data comes from ranged GETs of only the frames needed, fetched ahead in order.
//
// Frame-major within a window: the index is read LOOKAHEAD entries ahead, and a frame stays open
// for more files while an entry in that window still needs it. An incremental backup's index
// alternates between old frames (unchanged files) and new ones (changed files); taking each
// entry's frame in index order would fetch and decompress the same frames again and again.
//
// The main thread reads the index, checks entries, creates directories and links, and fetches
// frames; each frame then goes to a worker (restore-job.ts) that opens, decompresses and writes
// the files whose data it holds, so frames are decompressed and written on all cores and a small
// file costs a handful of synchronous system calls instead of a thread pool round trip each.
// What must wait for files (a directory's metadata, a hardlink, a large file's metadata) waits
// for the frames registered before it.
import { closeSync, fstatSync, lstatSync, realpathSync } from 'node:fs';
import { CairnError } from '../../../common/src/errors.ts';
import type { Secret } from '../../../common/src/secret.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { isWithin } from '../../../common/src/format/path-order.ts';
import { checkBackupName, manifestKey } from '../../../common/src/format/layout.ts';
import { decodeManifest, type Manifest, type VolumeRecord } from '../../../common/src/format/manifest.ts';
import { openIndex } from '../../../common/src/format/index-object.ts';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import { checkKey } from '../../../common/src/format/seal.ts';
import { CompressPool } from './compress-pool.ts';
import { RefetchBudget } from './refetch-budget.ts';
import { FrameFetcher, frameId, framesOf, type FrameDesc } from './frame-fetcher.ts';
import { RestoreGuard, selectedBy, type RestoreLimits } from './restore-guard.ts';
import { shownPath } from '../../../common/src/format/shown-path.ts';
import { RNUMS, TASK_PIECE, TASK_WHOLE, type RestoreJob } from './restore-job.ts';
import { RestoreTarget, restorable, warnUnsupported, type Metadata } from './restore-target.ts';
import { defaultReadLimits } from './read-limits.ts';
import { Warnings, type Warning } from './warnings.ts';
import { ProgressReporter, type Progress } from './progress.ts';

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
  /**
   * Frames fetched and being written ahead (default 4: on the 2-core bench machine 4 and 8 were
   * as fast, and each frame in flight is held twice, fetched and decompressed).
   */
  fetchAhead?: number;
  /** A shared pool (the agent keeps one); one is made and closed per restore when absent. */
  pool?: CompressPool;
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
  /** Decompressed bytes of the frames fetched: the first time, and again (refetch-budget.ts). */
  frameBytes: { first: number; again: number };
  warnings: Warnings;
  durationMs: number;
}

/** A file spanning frames: created by the main thread, written piece by piece by the workers. */
interface LargeFile {
  e: IndexEntry;
  mode: number;
  ino: bigint;
  dev: bigint;
  xattrs: Array<[string, Buffer]> | undefined;
  /** Bytes planned so far, and the data offset in the next frame (the first frame's skip). */
  filled: number;
  skip: number;
  /** Frames of the file not yet planned. */
  left: number;
}

interface Task {
  e: IndexEntry;
  mode: number;
  xattrs?: Array<[string, Buffer]> | undefined;
  /** Set for a piece of a large file. */
  large?: LargeFile;
  /** Whether this is the large file's last frame. */
  last?: boolean;
}

/** One frame to fetch and write, with the entries whose data it holds (in index order). */
interface FrameSlot {
  seq: number;
  desc: FrameDesc;
  /** frameId(desc). */
  id: string;
  stored: Promise<Buffer>;
  /** Its bytes are here (or its fetch failed). */
  fetched: boolean;
  /** Its frame lies past every frame of its pack fetched before (RefetchBudget): not a fetch again. */
  first: boolean;
  tasks: Task[];
  /** It holds pieces of files that span frames: planned only after every older slot (the pieces' offsets follow from the frames before). */
  pieces: boolean;
  /** Planned and handed to a worker: it takes no more tasks. */
  submitted: boolean;
  /** Set once its job is submitted; settles when the worker is done. */
  job?: Promise<void>;
  done: boolean;
}

/** Work that must wait until every frame up to `after` is written. */
interface Deferred {
  after: number;
  run: () => void;
}

/** Tasks (entries with data) one frame slot takes; Cairn's writer puts at most 2048 in a frame (4 MiB of tar holds at most 4096 non-empty files). */
const MAX_TASKS = 4096;

/**
 * Slots kept at most, finished ones included: a finished slot stays until every older one is
 * finished (what waits for frames waits for all frames before it), and a frame held open for
 * entries ahead must not let that list grow without end.
 */
const MAX_SLOTS = 256;

/** What a slot's `stored` becomes once its job has the bytes. */
const RELEASED = Promise.resolve(Buffer.alloc(0));

/** Index entries read ahead of the one being restored, to see which open frames are still needed; at most this many, and about this many bytes. */
const LOOKAHEAD = 8192;
const LOOKAHEAD_BYTES = 8 << 20;

/** About the memory an entry holds (its path, link and attributes). */
function entryBytes(e: IndexEntry): number {
  let n = 200 + e.path.length + (e.link?.length ?? 0);
  for (const [name, value] of e.xattrs ?? []) n += name.length + value.length;
  return n;
}

/** The frame an entry's data starts in (a file with data), whose slot it may join. */
function firstFrame(e: IndexEntry): string | undefined {
  if (e.type !== 'file' || e.size === 0 || !e.loc) return undefined;
  const l = e.loc;
  return frameId({ pack: l.pack, seq: l.seq, offset: l.offset, size: l.frames[0]! });
}

const meta = (e: IndexEntry, xattrs?: Array<[string, Buffer]>): Metadata => ({ path: e.path, uid: e.uid, gid: e.gid, time: Number(e.mtimeNs) / 1e9, ...(xattrs ? { xattrs } : {}) });

export async function restore(store: ObjectStore, backupName: string, targetPath: string, opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  checkBackupName(backupName);
  const key = opts.key ? checkKey(opts.key) : undefined;
  const signal = opts.signal ?? new AbortController().signal;
  const warnings = new Warnings(100, opts.onWarning);
  const progress = new ProgressReporter(opts.onProgress);
  const limits: RestoreLimits = { maxBytes: opts.maxBytes, maxEntries: opts.maxEntries ?? 50_000_000, maxDepth: opts.maxDepth ?? 512 };
  const depth = Math.max(1, opts.fetchAhead ?? 4);

  const mk = manifestKey(backupName);
  const manifest = decodeManifest(await store.getObject(mk, { signal, maxBytes: 16 << 20 }), mk, backupName, key);
  const volume = opts.volumeId ? manifest.volumes.find((v) => v.id === opts.volumeId) : manifest.volumes.length === 1 ? manifest.volumes[0] : undefined;
  if (!volume) {
    throw new CairnError('CAIRN_E_NOT_FOUND', opts.volumeId ? `backup ${backupName} has no volume ${opts.volumeId}` : `backup ${backupName} has ${manifest.volumes.length} volumes: name one`);
  }
  const p = progress.p;
  p.totalBytes = volume.bytes;
  p.totalFiles = volume.files;
  p.totalKnown = true;

  let st;
  try {
    st = lstatSync(targetPath, { bigint: true });
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory()) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `restore target ${targetPath} is not a directory`);
  const root = { abs: Buffer.from(targetPath), real: realpathSync(targetPath), dev: st.dev };
  const target = new RestoreTarget(root);
  const subset = opts.paths?.map((x) => (typeof x === 'string' ? Buffer.from(x.replace(/^\/+|\/+$/g, '')) : x));

  const stream = await store.getObjectStream(volume.index, { signal });
  const reader = await openIndex(stream, { objectKey: volume.index, expectSha256: volume.indexSha256, limits: defaultReadLimits, ...(key ? { key } : {}) });
  if (reader.header.lineage !== volume.lineage || reader.header.backup !== backupName || reader.header.volume !== volume.id) {
    stream.destroy();
    throw new CairnError('CAIRN_E_CORRUPT', `${volume.index}: index header does not belong to backup ${backupName} volume ${volume.id}`);
  }
  const fetcher = new FrameFetcher({ store, lineage: volume.lineage, key, limits: defaultReadLimits, signal });
  const refetch = new RefetchBudget();
  const ownPool = opts.pool === undefined;
  const pool = opts.pool ?? new CompressPool();
  const jobRoot = { abs: new Uint8Array(root.abs), real: root.real, dev: root.dev };

  const guard = new RestoreGuard(limits);
  const dirStack: Array<{ e: IndexEntry; mode: number }> = [];
  const counts = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, bytes: 0 };

  // Frames in the order they were first needed: fetched ahead, planned when no entry in the
  // lookahead window needs them any more (or room is needed), written by the workers.
  const slots: FrameSlot[] = [];
  let nextSeq = 0;
  const deferred: Deferred[] = [];
  /**
   * Entries read from the index and not yet restored (selected ones only), beside each the frame
   * its data starts in and its size in memory (entryBytes); per frame, how many of them start in it.
   */
  const ahead: IndexEntry[] = [];
  const aheadFrames: Array<string | undefined> = [];
  const aheadSizes: number[] = [];
  let aheadHead = 0;
  /** The frame the entry nextEntry returned last starts in. */
  let entryFrame: string | undefined;
  let aheadBytes = 0;
  let indexDone = false;
  const wanted = new Map<string, number>();
  let failure: Error | undefined;

  const lastSeq = (): number => nextSeq - 1;
  /** Throws the first failure of a worker job. */
  const check = (): void => {
    if (failure) throw failure;
  };

  /**
   * Runs deferred work whose frames are all written; drops finished slots. It runs from a job's
   * completion too, so a failure (a directory that is not where it must be, a link that cannot
   * be made) is kept for the main loop to throw, and stops the deferred work after it.
   */
  const settleDone = (): void => {
    while (slots.length > 0 && slots[0]!.done) slots.shift();
    const doneThrough = slots.length > 0 ? slots[0]!.seq - 1 : lastSeq();
    while (failure === undefined && deferred.length > 0 && deferred[0]!.after <= doneThrough) {
      try {
        deferred.shift()!.run();
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
    }
  };

  const later = (run: () => void): void => {
    deferred.push({ after: lastSeq(), run });
    settleDone();
  };

  /** Plans and submits `slot` (waiting for its bytes). */
  const submitSlot = async (slot: FrameSlot): Promise<void> => {
    slot.submitted = true;
    try {
      await submit(slot);
    } catch (err) {
      // A frame that cannot be fetched, planned or opened fails the restore where it stands.
      failure ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  };

  const submit = async (slot: FrameSlot): Promise<void> => {
    const stored = await slot.stored;
    slot.stored = RELEASED;
    const src = fetcher.source(slot.desc);
    const declared = fetcher.declaredSize(src, stored);
    const base = { type: 'restore' as const, frame: stored, where: src.where, limits: defaultReadLimits, root: jobRoot, ...(src.seal ? { seal: src.seal } : {}) };
    const empty = { kinds: new Uint8Array(0), paths: new Uint8Array(0), pathEnd: new Uint32Array(0), nums: new Float64Array(0), ids: new BigUint64Array(0), xattrs: [] };
    let job: RestoreJob;
    try {
      if (declared === undefined) throw new CairnError('CAIRN_E_CORRUPT', `${src.where}: frame does not declare its size`);
      refetch.count(slot.first, declared, slot.tasks[0]?.e.path);
      job = { ...base, expect: declared, ...plan(slot, declared) };
    } catch (err) {
      // The frame itself may be what is wrong (corrupt, forged, not a frame): let the worker
      // open and decompress it alone, and report its finding before the plan's.
      await pool.restore({ ...base, expect: declared ?? -1, ...empty });
      throw err;
    }
    const tasks = slot.tasks;
    slot.tasks = [];
    slot.job = pool.restore(job).then((r) => {
      slot.done = true;
      for (const [i, names] of r.unsupported) warnUnsupported(tasks[i]!.e.path, names, warnings);
      let files = 0;
      for (const t of tasks) if (!t.large) files++;
      p.filesDone += files;
      p.bytesDone += r.bytes;
      settleDone();
    }, (err: unknown) => {
      failure ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    });
    slot.job.catch(() => {});
  };

  /** Where each task's bytes are in a frame of `size` bytes (as the frame declares). */
  const plan = (slot: FrameSlot, size: number): Pick<RestoreJob, 'kinds' | 'paths' | 'pathEnd' | 'nums' | 'ids' | 'xattrs'> => {
    const n = slot.tasks.length;
    const kinds = new Uint8Array(n);
    const pathEnd = new Uint32Array(n);
    const nums = new Float64Array(n * RNUMS);
    const ids = new BigUint64Array(n * 2);
    const xattrs: RestoreJob['xattrs'] = [];
    const paths: Buffer[] = [];
    let pathBytes = 0;
    slot.tasks.forEach((t, i) => {
      const e = t.e;
      const f = t.large;
      let at: number;
      let len: number;
      let fileOffset = 0;
      if (!f) {
        at = e.loc!.skip;
        if (at > size) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shownPath(e.path)}: data offset is past its frame`);
        len = Math.min(e.size, size - at);
        if (len < e.size) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shownPath(e.path)}: its frames hold ${len} of ${e.size} bytes`);
        kinds[i] = TASK_WHOLE;
        if (t.xattrs) xattrs.push([i, t.xattrs]);
      } else {
        if (f.filled === e.size) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shownPath(e.path)}: lists more frames than its data needs`);
        at = f.skip;
        if (at > size) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shownPath(e.path)}: data offset is past its frame`);
        len = Math.min(e.size - f.filled, size - at);
        fileOffset = f.filled;
        f.filled += len;
        f.skip = 0;
        if (--f.left === 0 && f.filled < e.size) throw new CairnError('CAIRN_E_CORRUPT', `entry ${shownPath(e.path)}: its frames hold ${f.filled} of ${e.size} bytes`);
        kinds[i] = TASK_PIECE;
        ids[2 * i] = f.ino;
        ids[2 * i + 1] = f.dev;
      }
      paths.push(e.path);
      pathBytes += e.path.length;
      pathEnd[i] = pathBytes;
      const o = RNUMS * i;
      nums[o] = at;
      nums[o + 1] = len;
      nums[o + 2] = fileOffset;
      nums[o + 3] = t.mode;
      nums[o + 4] = Number(e.mtimeNs) / 1e9;
      nums[o + 5] = e.uid;
      nums[o + 6] = e.gid;
    });
    return { kinds, paths: Buffer.concat(paths, pathBytes), pathEnd, nums, ids, xattrs };
  };

  /** Whether `slot` may be planned now: one with pieces only after every older slot. */
  const inOrder = (slot: FrameSlot): boolean => !slot.pieces || slots.every((s) => s === slot || s.seq > slot.seq || s.submitted);

  /** Slots fetched, open or being written (not finished). */
  const inFlight = (): number => {
    let n = 0;
    for (const s of slots) if (!s.done) n++;
    return n;
  };

  const full = (): boolean => inFlight() >= depth || slots.length >= MAX_SLOTS;

  /**
   * Waits until fewer than `depth` frames are in flight (and fewer than MAX_SLOTS kept): submits
   * an open slot that no entry ahead needs, else waits for a frame being written, else (every
   * frame in flight is open for entries ahead) submits the oldest, whose frame is then fetched
   * again when an entry needs it.
   */
  const room = async (): Promise<void> => {
    while (full()) {
      check();
      const open = slots.filter((s) => !s.submitted && inOrder(s));
      const idle = open.find((s) => !wanted.has(s.id));
      const writing = slots.filter((s) => s.job && !s.done).map((s) => s.job!);
      if (idle) await submitSlot(idle);
      else if (writing.length > 0) await Promise.race(writing);
      else if (open.length > 0) await submitSlot(open[0]!);
      else throw new CairnError('CAIRN_E_INTERNAL', 'restore: every frame in flight is submitted and none is being written');
      settleDone();
    }
  };

  /**
   * An open slot of frame `d` that may still gain tasks (for a piece of a file that spans
   * frames, only the newest slot: pieces are planned in order). A slot takes at most MAX_TASKS:
   * an index (hostile, or just odd) may point any number of entries into one frame, and their
   * tasks would all wait in memory for it; past the cap the frame is fetched again.
   */
  const current = (id: string, piece: boolean): FrameSlot | undefined => {
    for (let i = slots.length - 1; i >= 0; i--) {
      const s = slots[i]!;
      if (!s.submitted && s.id === id && s.tasks.length < MAX_TASKS) return s;
      if (piece) return undefined;
    }
    return undefined;
  };

  /** A new slot for frame `d` (`id`: frameId(d); its fetch started), once there is room. */
  const newSlot = async (d: FrameDesc, id: string): Promise<FrameSlot> => {
    if (full()) await room();
    const stored = fetcher.fetch(d);
    stored.catch(() => {});
    const slot: FrameSlot = { seq: nextSeq++, desc: d, id, stored, fetched: false, first: refetch.first(d), tasks: [], pieces: false, submitted: false, done: false };
    stored.then(() => { slot.fetched = true; }, () => { slot.fetched = true; });
    slots.push(slot);
    return slot;
  };

  /** Submits, oldest first, the open slots that have their bytes and that no entry ahead needs (or that are full). */
  const submitReady = async (): Promise<void> => {
    const ready = (s: FrameSlot): boolean => !s.submitted && s.fetched && (!wanted.has(s.id) || s.tasks.length >= MAX_TASKS) && inOrder(s);
    for (let s = slots.find(ready); s; s = slots.find(ready)) await submitSlot(s);
  };

  /** Submits every open slot, in order. */
  const submitAll = async (): Promise<void> => {
    for (let s = slots.find((x) => !x.submitted); s; s = slots.find((x) => !x.submitted)) await submitSlot(s);
  };

  /** The next selected entry of the index, keeping LOOKAHEAD entries read ahead; undefined at its end. */
  const nextEntry = async (): Promise<IndexEntry | undefined> => {
    while (!indexDone && (ahead.length === aheadHead || (ahead.length - aheadHead < LOOKAHEAD && aheadBytes < LOOKAHEAD_BYTES))) {
      const r = await reader.entries.next();
      if (r.done) {
        indexDone = true;
        break;
      }
      if (!selectedBy(subset, r.value.path)) continue;
      const id = firstFrame(r.value);
      const size = entryBytes(r.value);
      ahead.push(r.value);
      aheadFrames.push(id);
      aheadSizes.push(size);
      aheadBytes += size;
      if (id) wanted.set(id, (wanted.get(id) ?? 0) + 1);
    }
    if (aheadHead === ahead.length) return undefined;
    const e = ahead[aheadHead]!;
    const id = aheadFrames[aheadHead];
    aheadBytes -= aheadSizes[aheadHead]!;
    ahead[aheadHead++] = undefined as unknown as IndexEntry;
    if (aheadHead >= 4096 && aheadHead * 2 >= ahead.length) {
      ahead.splice(0, aheadHead);
      aheadFrames.splice(0, aheadHead);
      aheadSizes.splice(0, aheadHead);
      aheadHead = 0;
    }
    entryFrame = id;
    if (id) {
      const n = wanted.get(id)! - 1;
      if (n === 0) wanted.delete(id);
      else wanted.set(id, n);
    }
    return e;
  };

  /** Writes every frame registered so far and runs what waited for them; failures are dropped (a refusal is reported). */
  const finishAccepted = async (): Promise<void> => {
    try {
      await submitAll();
      await Promise.all(slots.map((s) => s.job ?? Promise.resolve()));
      settleDone();
      while (deferred.length > 0) deferred.shift()!.run();
    } catch {
      // the refusal is what the restore reports
    }
  };

  try {
    for (;;) {
      signal.throwIfAborted();
      check();
      const e = await nextEntry();
      if (!e) break;
      const stripped = guard.setidStripped;
      const mode = guard.check(e);
      if (root.abs.length + 1 + e.path.length > 4095) {
        throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `entry ${shownPath(e.path)}: its path in the target would exceed PATH_MAX (4095 bytes)`);
      }
      if (guard.setidStripped > stripped) warnings.add('CAIRN_W_SETID_STRIPPED', e.path, 'setuid/setgid bits are never restored');
      while (dirStack.length > 0 && !isWithin(e.path, dirStack[dirStack.length - 1]!.e.path)) {
        // Its metadata after its files: when the frames registered so far are written.
        const d = dirStack.pop()!;
        const x = restorable(d.e.path, d.e.xattrs, warnings);
        later(() => warnUnsupported(d.e.path, target.finishDir(meta(d.e, x), d.mode), warnings));
      }
      switch (e.type) {
        case 'dir':
          target.mkdir(e.path);
          dirStack.push({ e, mode });
          counts.dirs++;
          break;
        case 'symlink':
          target.symlink(e.path, e.link!, e.uid, e.gid, Number(e.mtimeNs) / 1e9);
          counts.symlinks++;
          break;
        case 'hardlink': {
          if (subset && !selectedBy(subset, e.link!)) {
            warnings.add('CAIRN_W_FILE_VANISHED', e.path, `hardlink to ${shownPath(e.link!)}, which is not in the restored paths`);
            break;
          }
          // Its target may still be being written.
          const link = e.link!;
          later(() => {
            target.hardlink(e.path, link);
            p.filesDone++;
          });
          counts.hardlinks++;
          break;
        }
        case 'file': {
          const xattrs = restorable(e.path, e.xattrs, warnings);
          counts.files++;
          counts.bytes += e.size;
          if (e.size === 0) {
            const fd = target.createFile(e.path);
            try {
              warnUnsupported(e.path, target.applyMetadata(fd, meta(e, xattrs), mode), warnings);
            } finally {
              closeSync(fd);
            }
            p.filesDone++;
            break;
          }
          const loc = e.loc!;
          if (loc.frames.length === 1) {
            const d = { pack: loc.pack, seq: loc.seq, offset: loc.offset, size: loc.frames[0]! };
            // entryFrame: frameId(d), worked out when the entry was read ahead.
            (current(entryFrame!, false) ?? (await newSlot(d, entryFrame!))).tasks.push({ e, mode, xattrs });
            break;
          }
          const frames = framesOf(loc);
          // Spans frames: created here, its pieces written by the workers, its metadata last.
          const fd = target.createFile(e.path);
          let ino: bigint;
          let dev: bigint;
          try {
            const fst = fstatSync(fd, { bigint: true });
            ino = fst.ino;
            dev = fst.dev;
          } finally {
            closeSync(fd);
          }
          const large: LargeFile = { e, mode, ino, dev, xattrs, filled: 0, skip: e.loc!.skip, left: frames.length };
          for (let k = 0; k < frames.length; k++) {
            const id = frameId(frames[k]!);
            const slot = current(id, true) ?? (await newSlot(frames[k]!, id));
            slot.pieces = true;
            slot.tasks.push({ e, mode, large, last: k === frames.length - 1 });
          }
          later(() => {
            const f = target.openCreated(e.path, ino, dev);
            try {
              warnUnsupported(e.path, target.applyMetadata(f, meta(e, xattrs), mode), warnings);
            } finally {
              closeSync(f);
            }
            p.filesDone++;
          });
          break;
        }
      }
      await submitReady();
    }
    check();
    while (dirStack.length > 0) {
      const d = dirStack.pop()!;
      const x = restorable(d.e.path, d.e.xattrs, warnings);
      later(() => warnUnsupported(d.e.path, target.finishDir(meta(d.e, x), d.mode), warnings));
    }
    await submitAll();
    while (slots.length > 0) {
      check();
      await Promise.race(slots.filter((s) => s.job && !s.done).map((s) => s.job!));
      settleDone();
    }
    settleDone();
    check();
    progress.finish();
    return { manifest, volume, ...counts, setidStripped: guard.setidStripped, frameBytes: refetch.totals, warnings, durationMs: Date.now() - started };
  } catch (err) {
    progress.stop();
    // A refused entry (or an unreadable index) ends the restore; what was accepted before it is
    // still written, as if entries were written one at a time. Not after a cancel or a failed frame.
    if (!signal.aborted && failure === undefined) await finishAccepted();
    stream.destroy();
    // No worker may still be writing when the restore returns.
    await Promise.allSettled(slots.map((s) => s.job ?? s.stored));
    if (opts.signal?.aborted) throw new CairnError('CAIRN_E_ABORTED', `restore of ${backupName} was cancelled`, { cause: err });
    throw err;
  } finally {
    await reader.entries.return({ entries: 0, packs: [] }).catch(() => {});
    if (ownPool) await pool.close();
  }
}
