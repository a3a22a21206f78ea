// Vitest global setup of both projects: every temporary folder of the run (os.tmpdir() in the
// tests, the harness and the processes they start) goes under one folder per run, removed at the
// end (kept with CAIRN_KEEP_RUN=1), so repeated runs do not fill the disk. A mount a test left
// under it is never descended into: the folder is then kept and named.
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-scratch-'));
  // Set before the test workers start, so they inherit it; os.tmpdir() reads it on every call.
  process.env.TMPDIR = dir;
  return async () => {
    if (process.env.CAIRN_KEEP_RUN) return;
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m === dir || m.startsWith(`${dir}/`));
    if (mounts.length > 0) {
      console.warn(`[scratch] keeping ${dir}: still mounted below it: ${mounts.join(', ')}`);
      return;
    }
    await rm(dir, { recursive: true, force: true });
  };
}
