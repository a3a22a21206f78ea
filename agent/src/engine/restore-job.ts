// One frame of a restore, in a worker thread: the stored frame is opened (with a key) and
// decompressed under the read limits, then the files whose data it holds are written: a file
// whose data is all in this frame is created, written and given its metadata here; a piece of a
// larger file (created by the main thread) is written into that file, reopened and checked to be
// the same inode. The main thread planned every offset from the frame's declared size, which is
// checked here, after authentication, before anything is written.
import { closeSync, writeSync } from 'node:fs';
import { CairnError } from '../../../common/src/errors.ts';
import { openFrame } from '../../../common/src/format/seal.ts';
import { decompressFrame, type FrameLimits } from '../../../common/src/format/zstd-frame.ts';
import { RestoreTarget } from './restore-target.ts';
import type { JobRoot, JobSeal } from './job-shapes.ts';

/** A file whose data is all in this frame: create, write, metadata. */
export const TASK_WHOLE = 0;
/** A range of a file the main thread created: write only. */
export const TASK_PIECE = 1;

/** Fields per task in RestoreJob.nums: offset in the frame, length, offset in the file, mode, time (s), uid, gid. */
export const RNUMS = 7;

export interface RestoreJob {
  type: 'restore';
  /** The frame as stored (a sealed frame with a key). */
  frame: Uint8Array;
  seal?: JobSeal;
  /** Names the frame in errors: `<pack key> frame at <offset>`. */
  where: string;
  limits: FrameLimits;
  /** Decompressed size the plan assumed (the frame's declared content size); -1: none (only check the frame). */
  expect: number;
  root: JobRoot;
  kinds: Uint8Array;
  paths: Uint8Array;
  pathEnd: Uint32Array;
  nums: Float64Array;
  /** Per piece: inode and device of the file the main thread created. */
  ids: BigUint64Array;
  /** Restorable xattrs of whole files that have any: [task, attributes]. */
  xattrs: Array<[number, Array<[string, Uint8Array]>]>;
}

export interface RestoreResult {
  bytes: number;
  /** Attributes of whole files the target's file system does not support: [task, names]. */
  unsupported: Array<[number, string[]]>;
}

/** The buffers of a restore job: transferred to the worker, and back once it is done (transfer.ts). */
export function restoreJobViews(job: RestoreJob): ArrayBufferView[] {
  return [job.frame, job.kinds, job.paths, job.pathEnd, job.nums, job.ids];
}

let scratch = new Uint8Array(0);

function room(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(size);
  return scratch;
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

export function runRestoreJob(job: RestoreJob): RestoreResult {
  let compressed: Uint8Array = job.frame;
  if (job.seal) {
    const raw = Buffer.from(job.frame.buffer, job.frame.byteOffset, job.frame.byteLength);
    const opened = openFrame(Buffer.from(job.seal.key), job.seal.context, job.seal.seq, raw, job.where);
    if (opened.consumed !== raw.length) throw new CairnError('CAIRN_E_CORRUPT', `${job.where}: frame length does not match the index`);
    compressed = opened.plaintext;
  }
  const data = decompressFrame(compressed, job.limits, job.where, room);
  if (job.expect >= 0 && data.length !== job.expect) throw new CairnError('CAIRN_E_CORRUPT', `${job.where}: frame holds ${data.length} bytes, not the ${job.expect} it declared`);
  const target = new RestoreTarget({ abs: Buffer.from(job.root.abs.buffer, job.root.abs.byteOffset, job.root.abs.byteLength), real: job.root.real, dev: job.root.dev });
  const xattrs = new Map(job.xattrs);
  let bytes = 0;
  const unsupported: RestoreResult['unsupported'] = [];
  let pathStart = 0;
  for (let i = 0; i < job.kinds.length; i++) {
    const p = job.paths.subarray(pathStart, job.pathEnd[i]);
    pathStart = job.pathEnd[i]!;
    const path = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    const at = job.nums[RNUMS * i]!;
    const len = job.nums[RNUMS * i + 1]!;
    const chunk = data.subarray(at, at + len);
    if (job.kinds[i] === TASK_WHOLE) {
      const fd = target.createFile(path);
      try {
        writeAll(fd, chunk, 0);
        const x = xattrs.get(i);
        const skipped = target.applyMetadata(fd, { path, time: job.nums[RNUMS * i + 4]!, uid: job.nums[RNUMS * i + 5]!, gid: job.nums[RNUMS * i + 6]!, ...(x ? { xattrs: x } : {}) }, job.nums[RNUMS * i + 3]!);
        if (skipped) unsupported.push([i, skipped]);
      } finally {
        closeSync(fd);
      }
    } else {
      const fd = target.openCreated(path, job.ids[2 * i]!, job.ids[2 * i + 1]!);
      try {
        writeAll(fd, chunk, job.nums[RNUMS * i + 2]!);
      } finally {
        closeSync(fd);
      }
    }
    bytes += len;
  }
  return { bytes, unsupported };
}
