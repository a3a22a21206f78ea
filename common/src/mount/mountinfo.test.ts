import { describe, expect, it } from 'vitest';
import { mountAt, mountsUnder, parseMountInfo } from './mountinfo.ts';

const sample = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '101 27 254:0 /srv/backing/vol-1 /var/lib/kubelet/plugins/kubernetes.io/csi/d/abc/globalmount rw,relatime shared:1 - ext4 /dev/vda rw',
  '102 27 254:0 /srv/backing/vol-1 /var/lib/kubelet/pods/u1/volumes/kubernetes.io~csi/pv-1/mount rw,relatime - ext4 /dev/vda rw',
  '103 27 254:0 /srv/with\\040space /mnt/a\\040b rw - ext4 /dev/vda rw',
].join('\n');

describe('parseMountInfo', () => {
  it('reads device, root, mount point and fs type, with optional fields skipped', () => {
    const entries = parseMountInfo(sample);
    const staging = mountAt(entries, '/var/lib/kubelet/plugins/kubernetes.io/csi/d/abc/globalmount');
    expect(staging).toMatchObject({ device: '254:0', root: '/srv/backing/vol-1', fsType: 'ext4', source: '/dev/vda' });
  });

  it('decodes octal escapes in paths', () => {
    expect(mountAt(parseMountInfo(sample), '/mnt/a b')?.root).toBe('/srv/with space');
  });

  it('lists mounts under a directory deepest first, not siblings with a shared prefix', () => {
    const entries = parseMountInfo(`${sample}\n104 27 0:5 / /var/lib/kubelet/pods-other rw - tmpfs tmpfs rw`);
    expect(mountsUnder(entries, '/var/lib/kubelet/pods').map((e) => e.mountId)).toEqual([102]);
  });
});
