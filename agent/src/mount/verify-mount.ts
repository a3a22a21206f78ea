// The agent's own check of a volume before any job touches it (DESIGN 3.5): the pod's volume
// path under the kubelet root must be a mount point, and its identity in /proc/self/mountinfo
// (device, root within the file system, fs type) must equal that of the CSI staging mount of
// the job's driver and volumeHandle, or for NFS its source must be the job's server:/export.
// A bind mount of some other directory of the same file system fails this: its root differs.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { realpath } from 'node:fs/promises';
import { CairnError } from '../../../common/src/errors.ts';
import { mountAt, readMountInfo, type MountEntry } from '../../../common/src/mount/mountinfo.ts';
import type { ValidVolume } from '../jobs/validate-job.ts';

export function csiStagingPath(kubeletRoot: string, driver: string, volumeHandle: string): string {
  return join(kubeletRoot, 'plugins', 'kubernetes.io', 'csi', driver, createHash('sha256').update(volumeHandle).digest('hex'), 'globalmount');
}

export function podVolumePath(kubeletRoot: string, v: ValidVolume): string {
  const dir = join(kubeletRoot, 'pods', v.podUid, 'volumes', v.pluginDir, v.pvName);
  return v.pluginDir === 'kubernetes.io~csi' ? join(dir, 'mount') : dir;
}

function mismatch(v: ValidVolume, why: string): never {
  throw new CairnError('CAIRN_E_MOUNT_MISMATCH', `volume ${v.volumeName} (PV ${v.pvName}) of pod ${v.podUid}: ${why}; nothing was read or written`);
}

/** Normalised "server:/export" of an NFS mount source; undefined when it is not one. */
export function nfsSource(source: string): { server: string; path: string } | undefined {
  const m = /^(\[[^\]]+\]|[^:/]+):(\/.*)$/.exec(source);
  if (!m) return undefined;
  const parts = m[2]!.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return undefined;
  return { server: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), path: `/${parts.join('/')}` };
}

/** Checks the mount table (a pure function, so its rules are unit-tested on sample tables). */
export function checkMount(mounts: MountEntry[], kubeletRoot: string, v: ValidVolume): MountEntry {
  const path = podVolumePath(kubeletRoot, v);
  const mount = mountAt(mounts, path);
  if (!mount) mismatch(v, `${path} is not a mount point`);
  if (v.source.kind === 'csi') {
    const staging = mountAt(mounts, csiStagingPath(kubeletRoot, v.source.driver, v.source.volumeHandle));
    if (!staging) mismatch(v, `no staging mount for CSI driver ${v.source.driver} and the job's volumeHandle`);
    if (staging.device !== mount.device || staging.root !== mount.root || staging.fsType !== mount.fsType) {
      mismatch(v, 'the pod volume mount is not the staging mount of its volumeHandle (device, root or fs type differ)');
    }
    return mount;
  }
  if (!mount.fsType.startsWith('nfs')) mismatch(v, `the pod volume is a ${mount.fsType} mount, not NFS`);
  const got = nfsSource(mount.source);
  if (!got || got.server !== v.source.server.toLowerCase() || got.path !== v.source.path || mount.root !== '/') {
    mismatch(v, `the NFS mount's source is not ${v.source.server}:${v.source.path}`);
  }
  return mount;
}

/** Verifies the volume and returns its path; the path must also be its own real path. */
export async function verifyMount(kubeletRoot: string, v: ValidVolume): Promise<string> {
  const path = podVolumePath(kubeletRoot, v);
  checkMount(await readMountInfo(), kubeletRoot, v);
  if ((await realpath(path).catch(() => '')) !== path) mismatch(v, `${path} is reached through a symlink`);
  return path;
}
