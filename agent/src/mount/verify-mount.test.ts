import { describe, expect, it } from 'vitest';
import { parseMountInfo } from '../../../common/src/mount/mountinfo.ts';
import { checkMount, csiStagingPath, nfsSource, podVolumePath } from './verify-mount.ts';
import type { ValidVolume } from '../jobs/validate-job.ts';

const root = '/var/lib/kubelet';
const csi: ValidVolume = {
  podUid: '11111111-2222-3333-4444-555555555555', volumeName: 'data', pluginDir: 'kubernetes.io~csi', pvName: 'pvc-1',
  source: { kind: 'csi', driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' },
};
const nfs: ValidVolume = { ...csi, pluginDir: 'kubernetes.io~nfs', source: { kind: 'nfs', server: 'nfs.example', path: '/exports/team-a' } };

function table(lines: string[]): ReturnType<typeof parseMountInfo> {
  return parseMountInfo(lines.join('\n'));
}
const staging = (dev: string, rootDir: string) => `100 1 ${dev} ${rootDir} ${csiStagingPath(root, 'ebs.csi.aws.com', 'vol-1')} rw - ext4 /dev/nvme1n1 rw`;
const pod = (v: ValidVolume, dev: string, rootDir: string, fs = 'ext4', src = '/dev/nvme1n1') => `101 1 ${dev} ${rootDir} ${podVolumePath(root, v)} rw - ${fs} ${src} rw`;

describe('checkMount', () => {
  it('accepts the staging mount of the job volumeHandle bound into the pod', () => {
    expect(() => checkMount(table([staging('259:1', '/'), pod(csi, '259:1', '/')]), root, csi)).not.toThrow();
  });
  it('refuses a path that is not a mount point', () => {
    expect(() => checkMount(table([staging('259:1', '/')]), root, csi)).toThrow(expect.objectContaining({ code: 'CAIRN_E_MOUNT_MISMATCH' }));
  });
  it('refuses a bind of another directory of the same device', () => {
    expect(() => checkMount(table([staging('259:1', '/'), pod(csi, '259:1', '/other-tenant')]), root, csi)).toThrow(expect.objectContaining({ code: 'CAIRN_E_MOUNT_MISMATCH' }));
  });
  it('refuses another device, and a volumeHandle with no staging mount', () => {
    expect(() => checkMount(table([staging('259:1', '/'), pod(csi, '259:2', '/')]), root, csi)).toThrow(/staging mount/);
    const other = { ...csi, source: { kind: 'csi' as const, driver: 'ebs.csi.aws.com', volumeHandle: 'vol-2' } };
    expect(() => checkMount(table([staging('259:1', '/'), pod(other, '259:1', '/')]), root, other)).toThrow(/no staging mount/);
  });
  it('accepts NFS whose source is the normalised server:/export, refuses other or nested exports', () => {
    expect(() => checkMount(table([pod(nfs, '0:50', '/', 'nfs4', 'nfs.example:/exports//team-a/')]), root, nfs)).not.toThrow();
    expect(() => checkMount(table([pod(nfs, '0:50', '/', 'nfs4', 'nfs.example:/exports/team-b')]), root, nfs)).toThrow(/NFS mount's source/);
    expect(() => checkMount(table([pod(nfs, '0:50', '/', 'nfs4', 'nfs.example:/exports/team-a/sub')]), root, nfs)).toThrow(/NFS mount's source/);
    expect(() => checkMount(table([pod(nfs, '0:50', '/', 'nfs4', 'nfs.example:/exports')]), root, nfs)).toThrow(/NFS mount's source/);
    expect(() => checkMount(table([pod(nfs, '0:50', '/', 'ext4', 'nfs.example:/exports/team-a')]), root, nfs)).toThrow(/not NFS/);
  });
  it('normalises NFS sources', () => {
    expect(nfsSource('NFS.example:/a/./b//')).toEqual({ server: 'nfs.example', path: '/a/b' });
    expect(nfsSource('[fd00::1]:/x')).toEqual({ server: 'fd00::1', path: '/x' });
    expect(nfsSource('server:/a/../b')).toBeUndefined();
  });
});
