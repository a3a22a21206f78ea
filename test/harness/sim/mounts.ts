// Bind mounts as a kubelet makes them for a CSI volume: the volume's backing directory at the
// staging path, then the staging path into the pod's volume directory.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { mountAt, mountsUnder, readMountInfo } from '../../../common/src/mount/mountinfo.ts';

const run = promisify(execFile);

export async function bindMount(source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  if (mountAt(await readMountInfo(), target)) return;
  await run('mount', ['--bind', source, target]);
}

export async function unmount(target: string): Promise<void> {
  try {
    await run('umount', [target]);
  } catch {
    await run('umount', ['-l', target]);
  }
}

/** Unmounts everything at or below `dir`, deepest first. */
export async function unmountAllUnder(dir: string): Promise<number> {
  const mounts = mountsUnder(await readMountInfo(), dir);
  for (const m of mounts) await unmount(m.mountPoint);
  return mounts.length;
}
