// Child process of the put_s ceiling: cuts stdin (a tar stream of the dataset) into PART_BYTES
// objects and PUTs them to MinIO, CONCURRENCY at a time. Target from CAIRN_BENCH_PUT (JSON).
import { Agent } from 'node:http';
import { putObject, type PutTarget } from './s3-put.ts';

export const PART_BYTES = 16 * 1024 * 1024;
export const CONCURRENCY = 8;

const target = JSON.parse(process.env.CAIRN_BENCH_PUT ?? '{}') as PutTarget;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const inFlight = new Set<Promise<void>>();
let failure: unknown;
let part = 0;

function send(body: Buffer): void {
  const key = `part-${String(part++).padStart(6, '0')}`;
  const p: Promise<void> = putObject(target, key, body, agent)
    .catch((err: unknown) => { failure ??= err; })
    .finally(() => inFlight.delete(p));
  inFlight.add(p);
}

let buf = Buffer.allocUnsafe(PART_BYTES);
let filled = 0;
for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
  for (let at = 0; at < chunk.length; ) {
    const n = Math.min(chunk.length - at, PART_BYTES - filled);
    chunk.copy(buf, filled, at, at + n);
    filled += n;
    at += n;
    if (filled === PART_BYTES) {
      while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
      send(buf);
      buf = Buffer.allocUnsafe(PART_BYTES);
      filled = 0;
    }
  }
  if (failure) break;
}
if (filled > 0 && !failure) send(buf.subarray(0, filled));
await Promise.all(inFlight);
agent.destroy();
if (failure) {
  console.error((failure as Error).message);
  process.exit(1);
}
console.log(JSON.stringify({ objects: part }));
