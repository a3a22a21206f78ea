// Worker thread: compresses (and, with a key, seals) one frame at a time for the backup.
import { parentPort } from 'node:worker_threads';
import { compressFrame } from '../../../common/src/format/zstd-frame.ts';
import { sealFrame } from '../../../common/src/format/seal.ts';

export interface CompressJob {
  id: number;
  data: Uint8Array;
  level: number;
  seal?: { key: Uint8Array; context: string; seq: number };
}

export interface CompressResult {
  id: number;
  data?: Uint8Array;
  error?: string;
}

parentPort?.on('message', (job: CompressJob) => {
  try {
    let out: Buffer = compressFrame(job.data, job.level);
    if (job.seal) out = sealFrame(Buffer.from(job.seal.key), job.seal.context, job.seal.seq, false, out);
    const copy = new Uint8Array(out.length);
    copy.set(out);
    parentPort!.postMessage({ id: job.id, data: copy } satisfies CompressResult, [copy.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message } satisfies CompressResult);
  }
});
