// The machine's ceilings for a dataset, measured in the same run as the tools. Both read the
// dataset the same way, as `tar -cf -` of its directory (so opening many small files is part of
// both), and both discard what they produce:
//   zstd_s: tar | zstd -1 -T0 -c > /dev/null
//   put_s:  tar | PUT of the uncompressed stream to MinIO in 16 MiB objects, 8 at a time
import { join } from 'node:path';
import { measure } from '../measure.ts';
import type { PutTarget } from './s3-put.ts';

const putChild = join(import.meta.dirname, 'put-stdin.ts');

export async function zstdCeiling(datasetDir: string, logFile: string, timeoutMs: number): Promise<number> {
  const script = 'set -o pipefail; tar -cf - -C "$1" . | zstd -1 -T0 -q -c > /dev/null';
  return (await measure({ command: 'bash', args: ['-c', script, 'zstd-ceiling', datasetDir], logFile, timeoutMs })).seconds;
}

export async function putCeiling(datasetDir: string, target: PutTarget, logFile: string, timeoutMs: number): Promise<number> {
  const script = 'set -o pipefail; tar -cf - -C "$1" . | "$2" "$3"';
  const env = { ...process.env, CAIRN_BENCH_PUT: JSON.stringify(target) };
  return (await measure({ command: 'bash', args: ['-c', script, 'put-ceiling', datasetDir, process.execPath, putChild], env, logFile, timeoutMs })).seconds;
}
