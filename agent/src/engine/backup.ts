// Backup of one directory tree (a volume) to object storage, in the format of docs/format.md:
// walk in index order -> read files (small ones ahead, concurrently) -> tar -> frames compressed
// on all cores -> packs (multipart uploads) -> index -> manifest (written last, If-None-Match).
// Incremental: merged in the same order with the parent's index of the same lineage, an
// unchanged file (size, mtime, ctime, inode) points at its old bytes and is not read.
import type { BigIntStats } from 'node:fs';
import { lstat, readlink, realpath } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
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
import { PackWriter, isAbort } from './pack-writer.ts';
import { TarFramer, type EntrySpan } from './tar-framer.ts';
import { VerifiedFile, dirXattrs, readSmall, type SmallRead } from './file-source.ts';
import { countTree, walk, type WalkEntry, type WalkRoot } from './walk.ts';
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

type Prepared =
  | { kind: 'dir' | 'symlink'; e: WalkEntry; link?: Buffer }
  | { kind: 'hardlink'; e: WalkEntry; link: Buffer }
  | { kind: 'unchanged'; e: WalkEntry; parent: IndexEntry }
  | { kind: 'small'; e: WalkEntry; read: Promise<SmallRead | undefined> }
  | { kind: 'large'; e: WalkEntry }
  | { kind: 'vanished'; e: WalkEntry };


function baseEntry(e: WalkEntry, type: IndexEntry['type'], st: BigIntStats = e.stat): IndexEntry {
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

async function spanLocation(span: EntrySpan): Promise<IndexEntry['loc']> {
  const refs = await Promise.all(span.frames);
  const first = refs[0]!;
  return { pack: first.pack, seq: first.seq, offset: first.offset, frames: refs.map((r) => r.size), skip: span.skip };
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
  const framer = new TarFramer(packs, tuning.frameBytes);

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
      if (!indexStream.write(chunk)) await Promise.race([once(indexStream, 'drain', { signal }), indexUpload.then(() => { throw new Error('index upload ended early'); })]);
    },
  });

  let parent: ParentCursor | undefined;
  let lease: string | undefined;
  let bytesRead = 0;
  let filesRead = 0;
  let filesUnchanged = 0;
  const countTotals = countTree(root, signal, progress.p).catch(() => {});
  try {
    if (opts.parent) {
      parent = await openParentIndex(store, checkBackupName(opts.parent), lineage, key, signal);
      lease = await writeLease(store, { backup: backupName, lineage, packs: parent.packs, expiresAt: Date.now() + tuning.leaseMs }, signal);
    }
    const hardlinks = new Map<string, Buffer>();

    // Index entries are written in walk order as their frames land in packs.
    let indexTail: Promise<void> = Promise.resolve();
    let indexPending = 0;
    const addIndex = async (entry: Promise<IndexEntry>): Promise<void> => {
      entry.catch(() => {});
      indexPending++;
      indexTail = indexTail.then(async () => {
        await index.add(await entry);
        indexPending--;
      });
      indexTail.catch(() => {}); // failures surface where the chain is awaited
      if (indexPending > tuning.indexPending) {
        // Entries may be waiting for the frame being filled (a changed file followed by many
        // unchanged ones adds no bytes to it): flush it, or the wait below never ends.
        await framer.flush();
        await indexTail;
      }
    };

    const prepare = async (e: WalkEntry): Promise<Prepared> => {
      if (e.type === 'dir') return { kind: 'dir', e };
      if (e.type === 'symlink') {
        // The link may vanish or change into something else after the walk saw it.
        const link = await readlink(e.abs, { encoding: 'buffer' }).catch(() => undefined);
        return link ? { kind: 'symlink', e, link } : { kind: 'vanished', e };
      }
      if (e.stat.nlink > 1n) {
        const id = `${e.stat.dev}:${e.stat.ino}`;
        const first = hardlinks.get(id);
        if (first) return { kind: 'hardlink', e, link: first };
        hardlinks.set(id, e.path);
      }
      const old = parent ? await parent.seek(e.path) : undefined;
      if (old && old.type === 'file' && BigInt(old.size) === e.stat.size && old.mtimeNs === e.stat.mtimeNs && old.ctimeNs === e.stat.ctimeNs
        && BigInt(old.ino) === e.stat.ino && (old.size === 0 || old.loc !== undefined)) {
        return { kind: 'unchanged', e, parent: old };
      }
      if (e.stat.size <= BigInt(tuning.smallFileBytes)) {
        const read = readSmall(e, root);
        read.catch(() => {});
        return { kind: 'small', e, read };
      }
      return { kind: 'large', e };
    };

    const consume = async (p: Prepared): Promise<void> => {
      const e = p.e;
      switch (p.kind) {
        case 'vanished':
          warnings.add('CAIRN_W_FILE_VANISHED', e.path, 'changed into something else or removed before it was read');
          return;
        case 'dir': {
          const ie = baseEntry(e, 'dir');
          const x = await dirXattrs(e, root);
          if (x.length > 0) ie.xattrs = x;
          if (e.path.length > 0) await framer.header(tarHeader(ie));
          await addIndex(Promise.resolve(ie));
          return;
        }
        case 'symlink': {
          const ie = { ...baseEntry(e, 'symlink'), link: p.link! };
          await framer.header(tarHeader(ie));
          await addIndex(Promise.resolve(ie));
          return;
        }
        case 'hardlink': {
          const ie = { ...baseEntry(e, 'hardlink'), link: p.link };
          await framer.header(tarHeader(ie));
          await addIndex(Promise.resolve(ie));
          progress.p.filesDone++;
          progress.p.bytesDone += Number(e.stat.size);
          return;
        }
        case 'unchanged': {
          const ie = baseEntry(e, 'file');
          if (p.parent.loc) ie.loc = p.parent.loc;
          if (p.parent.xattrs) ie.xattrs = p.parent.xattrs;
          if (p.parent.torn) ie.torn = true;
          filesUnchanged++;
          progress.p.filesDone++;
          progress.p.bytesDone += ie.size;
          await addIndex(Promise.resolve(ie));
          return;
        }
        case 'small': {
          const r = await p.read;
          if (!r) {
            warnings.add('CAIRN_W_FILE_VANISHED', e.path, 'changed into something else or removed before it was read');
            return;
          }
          const ie = baseEntry(e, 'file', r.stat);
          if (r.xattrs.length > 0) ie.xattrs = r.xattrs;
          if (r.torn) {
            ie.torn = true;
            warnings.add('CAIRN_W_FILE_CHANGED', e.path, 'changed while it was read; the stored copy may be inconsistent');
          }
          await writeFile(ie, async () => { await framer.data(r.data); });
          bytesRead += r.data.length;
          return;
        }
        case 'large': {
          const f = await VerifiedFile.open(e.abs, e.stat, root);
          if (!f) {
            warnings.add('CAIRN_W_FILE_VANISHED', e.path, 'changed into something else or removed before it was read');
            return;
          }
          try {
            const ie = baseEntry(e, 'file', f.stat);
            const x = f.xattrs();
            if (x.length > 0) ie.xattrs = x;
            await writeFile(ie, async () => {
              const slice = Buffer.allocUnsafe(tuning.readSliceBytes);
              let torn = false;
              for (let pos = 0; pos < ie.size; pos += slice.length) {
                signal.throwIfAborted();
                const want = Math.min(slice.length, ie.size - pos);
                const got = await f.readAt(slice.subarray(0, want), pos);
                if (got < want) torn = true;
                await framer.data(slice.subarray(0, want));
                bytesRead += want;
                progress.p.bytesDone += want;
              }
              if (torn || f.changedSinceOpen()) {
                ie.torn = true;
                warnings.add('CAIRN_W_FILE_CHANGED', e.path, 'changed while it was read; the stored copy may be inconsistent');
              }
            }, false);
          } finally {
            await f.close();
          }
          return;
        }
      }
    };

    const writeFile = async (ie: IndexEntry, body: () => Promise<void>, countBytes = true): Promise<void> => {
      const skip = await framer.beginFile(tarHeader(ie));
      await body();
      const span = await framer.endFile(ie.size, skip);
      filesRead++;
      progress.p.filesDone++;
      if (countBytes) progress.p.bytesDone += ie.size;
      if (ie.size > 0) {
        await addIndex(spanLocation(span).then((loc) => ({ ...ie, ...(loc ? { loc } : {}) })));
      } else {
        await addIndex(Promise.resolve(ie));
      }
      if (framer.rawInPack >= tuning.packBytes) {
        await framer.flush();
        packs.rotate();
        framer.rawInPack = 0;
      }
    };

    // Read-ahead: up to `readAhead` prepared entries (small files being read) ahead of the consumer.
    const ahead: Promise<Prepared>[] = [];
    for await (const e of walk(root, warnings, signal)) {
      ahead.push(prepare(e));
      ahead[ahead.length - 1]!.catch(() => {});
      if (ahead.length >= tuning.readAhead) await consume(await ahead.shift()!);
      progress.p.bytesStored = packs.storedBytes;
    }
    while (ahead.length > 0) await consume(await ahead.shift()!);
    await framer.flush();
    await packs.finish();
    await indexTail;
    const summary = await index.finish(packs.packs);
    indexStream.end();
    await indexUpload;
    await parent?.close();
    await countTotals;
    progress.p.totalKnown = true;
    progress.p.bytesStored = packs.storedBytes + summary.bytes;

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
    await Promise.allSettled([indexUpload, packs.settled(), parent?.close(), countTotals, lease ? store.deleteObject(lease) : undefined]);
    if (opts.signal?.aborted) throw new CairnError('CAIRN_E_ABORTED', `backup ${backupName} was cancelled`, { cause: err });
    // When one stage fails the others are aborted; report the failure that caused it.
    if (isAbort(err)) throw packs.uploadError ?? indexUploadError ?? err;
    throw err;
  } finally {
    if (ownPool) await pool.close();
  }
}


