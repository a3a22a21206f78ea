// Worker thread of the engine's pool: builds and compresses (and seals) backup frames
// (frame-job.ts), and opens, decompresses and writes restore frames (restore-job.ts), one job at
// a time. Results and failures go back with the job's id; a failure keeps its error code.
import { flushCompileCache } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { codeOf } from '../../../common/src/errors.ts';
import { resultViews, runFrameJob, spentViews, type FrameJob } from './frame-job.ts';
import { ownedBuffers } from './transfer.ts';
import { restoreJobViews, runRestoreJob, type RestoreJob } from './restore-job.ts';

/** Answered once the worker's modules are loaded; writes them to Node's compile cache, if on. */
export interface PingJob {
  type: 'ping';
}

/**
 * The pool is closing: the worker ends once the jobs posted before this one are done. It is never
 * terminated in the middle of a job: stopping a thread inside a native addon aborts the whole
 * process (compress-pool.ts).
 */
export interface CloseJob {
  type: 'close';
}

export type Job = FrameJob | RestoreJob | PingJob | CloseJob;

export interface JobMessage {
  id: number;
  job: Job;
}

export interface JobReply {
  id: number;
  result?: unknown;
  /** A job's buffers handed back only so that they are not garbage in the worker. */
  spent?: ArrayBufferView[];
  error?: { code: string; message: string };
}

parentPort?.on('message', ({ id, job }: JobMessage) => {
  if (job.type === 'close') {
    parentPort!.close(); // nothing else keeps the thread alive: it ends with code 0
    return;
  }
  try {
    if (job.type === 'frame') {
      const result = runFrameJob(job);
      // The frame, the result's arrays and the job's own arrays all go back without a copy, so
      // none of them is left here as garbage (transfer.ts); the main thread drops what it does
      // not use.
      const spent = spentViews(job);
      parentPort!.postMessage({ id, result, spent } satisfies JobReply, ownedBuffers([...resultViews(result), ...spent]));
    } else if (job.type === 'restore') {
      const result = runRestoreJob(job);
      // The job's buffers (the frame above all) go back to be dropped there rather than here.
      const spent = restoreJobViews(job);
      parentPort!.postMessage({ id, result, spent } satisfies JobReply, ownedBuffers(spent));
    } else {
      flushCompileCache();
      parentPort!.postMessage({ id, result: {} } satisfies JobReply);
    }
  } catch (err) {
    parentPort!.postMessage({ id, error: { code: codeOf(err), message: (err as Error).message } } satisfies JobReply);
  }
});
