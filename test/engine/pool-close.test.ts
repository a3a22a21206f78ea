// Closing the compression pool while its workers build frames (what a backup that fails or is
// cancelled mid-frame does) must not abort the process. Regression: close() terminated the
// workers, and a thread stopped inside a native addon (fs-xattr, zstd-napi) aborted the job
// process (exit code 134), so a job refused by the store now and then ended "without a result"
// (CAIRN_E_SANDBOX) instead of with the store's error. On the old code every run of the child
// aborted.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./pool-close-child.ts', import.meta.url));

describe('compression pool close', () => {
  it('waits for the frames being built instead of stopping the workers inside native code', () => {
    const r = spawnSync(process.execPath, [child, '8'], { encoding: 'utf8', timeout: 50_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    // Every frame was built: the jobs given before close() ran to their end.
    expect(JSON.parse(r.stdout)).toEqual({ rounds: 8, built: 32, dropped: 0, unsettled: 0 });
  }, 60_000);
});
