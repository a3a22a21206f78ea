// Worker thread of the engine's pool: builds and compresses (and seals) backup frames
// (frame-job.ts), and opens, decompresses and writes restore frames (restore-job.ts), one job at
// a time. Results and failures go back with the job's id; a failure keeps its error code.
import { flushCompileCache } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { codeOf } from '../../../common/src/errors.ts';
import { runFrameJob, type FrameJob } from './frame-job.ts';
import { runRestoreJob, type RestoreJob } from './restore-job.ts';

/** Answered once the worker's modules are loaded; writes them to Node's compile cache, if on. */
export interface PingJob {
  type: 'ping';
}

export type Job = FrameJob | RestoreJob | PingJob;

export interface JobMessage {
  id: number;
  job: Job;
}

export interface JobReply {
  id: number;
  result?: unknown;
  error?: { code: string; message: string };
}

parentPort?.on('message', ({ id, job }: JobMessage) => {
  try {
    if (job.type === 'frame') {
      const result = runFrameJob(job);
      // Parts that own their memory move without a copy (a Buffer from the pool is copied).
      const transfer = result.frame.filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer).map((b) => b.buffer as ArrayBuffer);
      parentPort!.postMessage({ id, result } satisfies JobReply, transfer);
    } else if (job.type === 'restore') {
      parentPort!.postMessage({ id, result: runRestoreJob(job) } satisfies JobReply);
    } else {
      flushCompileCache();
      parentPort!.postMessage({ id, result: {} } satisfies JobReply);
    }
  } catch (err) {
    parentPort!.postMessage({ id, error: { code: codeOf(err), message: (err as Error).message } } satisfies JobReply);
  }
});
