// Child process of pool-close.test.ts: gives a pool frames of small files and closes it while the
// workers build them, several times over, then prints what became of the frames. It runs apart
// from the test because a worker stopped inside native code (the xattr addon, zstd) aborts its
// whole process (exit code 134).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompressPool } from '../../agent/src/engine/compress-pool.ts';
import { ITEM_FILE, NUMS, type FrameJob } from '../../agent/src/engine/frame-job.ts';

const rounds = Number(process.argv[2] ?? 10);
const FILES = 2000;
const root = realpathSync(mkdtempSync(join(tmpdir(), 'cairn-pool-close-')));
const files = Array.from({ length: FILES }, (_, i) => {
  const path = join(root, `f${i}`);
  writeFileSync(path, randomBytes(1024));
  const st = statSync(path, { bigint: true });
  return { path: Buffer.from(path), ino: st.ino, dev: st.dev };
});
const dev = statSync(root, { bigint: true }).dev;

/** One frame of every file, each read whole by the worker. */
function frameJob(): FrameJob {
  const pathEnd = new Uint32Array(FILES);
  const ids = new BigUint64Array(2 * FILES);
  let end = 0;
  files.forEach((f, i) => {
    end += f.path.length;
    pathEnd[i] = end;
    ids[2 * i] = f.ino;
    ids[2 * i + 1] = f.dev;
  });
  return {
    type: 'frame', level: 3, root: { abs: Buffer.from(root), real: root, dev }, maxWhole: 1 << 20, maxRaw: 64 << 20,
    kinds: new Uint8Array(FILES).fill(ITEM_FILE), paths: Buffer.concat(files.map((f) => f.path)), pathEnd,
    raw: new Uint8Array(0), rawEnd: new Uint32Array(FILES), ids, times: new BigInt64Array(2 * FILES), nums: new Float64Array(NUMS * FILES),
  };
}

let built = 0;
let dropped = 0;
let unsettled = 0;
for (let r = 0; r < rounds; r++) {
  const pool = new CompressPool(2);
  const frames = Array.from({ length: 4 }, () => pool.frame(frameJob()).then(() => built++, () => dropped++));
  await sleep(20 + (r % 5) * 10); // the workers are building frames by now
  await pool.close();
  const settled = await Promise.race([Promise.all(frames).then(() => true), sleep(5_000).then(() => false)]);
  if (!settled) unsettled++;
}
rmSync(root, { recursive: true });
process.stdout.write(`${JSON.stringify({ rounds, built, dropped, unsettled })}\n`);
