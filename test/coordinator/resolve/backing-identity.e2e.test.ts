// PV hijack through shared storage (issue 7, row 2): an admin-labelled static PV in team-b whose
// CSI volumeHandle, or NFS export written differently or nested, is also behind a PV of team-a is
// refused (in both namespaces); hostPath and local PVs are refused as unsupported even when
// labelled. Twins with storage of their own are accepted.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { pod, pvc } from '../../harness/builders.ts';
import type { ResolvedVolume } from '../../../coordinator/src/resolve/types.ts';
import { expectReady, expectRefused, ResolveWorld, staticPv, unique, type StaticPvBuilder } from './resolve-fixtures.ts';

const cluster = inject('cluster');
const world = new ResolveWorld(cluster);

afterAll(() => world.cleanup());

/** An admin-labelled static PV pre-bound to a new claim of `ns`, the claim bound and mounted by a running pod. */
async function claimed(ns: string, name: string, pv: StaticPvBuilder): Promise<void> {
  await world.createPv(pv.claimRef(ns, name).tenant(ns).build());
  await world.createPvc(pvc(name, ns).storageClass('').build());
  await world.waitPvcPhase(ns, name, 'Bound');
  await world.createPod(pod(name, ns).withPvc(name).build());
  await world.waitRunning(ns, name);
}

describe('shared backing storage', () => {
  it("a static PV in team-b with the CSI volumeHandle of team-a's volume is refused in both namespaces; with a handle of its own both are ready", async () => {
    const id = unique();
    await world.createPvc(pvc(`victim-${id}`, 'team-a').build());
    const victim = await world.waitPvcPhase('team-a', `victim-${id}`, 'Bound');
    await world.createPod(pod(`victim-${id}`, 'team-a').withPvc(`victim-${id}`).build());
    await world.waitRunning('team-a', `victim-${id}`);
    const victimPv = await world.admin.readPersistentVolume({ name: victim.spec!.volumeName! });
    expectReady(await world.resolveOne('team-a', `victim-${id}`));

    await claimed('team-b', `dup-${id}`, staticPv(`dup-${id}`).csi(cluster.csiDriver, victimPv.spec!.csi!.volumeHandle));
    const thief = expectRefused(await world.resolveOne('team-b', `dup-${id}`), 'pv-identity-shared');
    expect(thief.reason).toContain(`PV dup-${id}`);
    expect(thief.reason).not.toContain(victimPv.metadata!.name!);
    expect(thief.adminDetail).toContain(victimPv.metadata!.name!);
    expectRefused(await world.resolveOne('team-a', `victim-${id}`), 'pv-identity-shared');

    await claimed('team-b', `own-${id}`, staticPv(`own-${id}`).csi(cluster.csiDriver, `own-${id}`));
    const own = expectReady(await world.resolveOne('team-b', `own-${id}`));
    await world.expectAgentAccepts(own.pod.node, own.volume);
  });

  // team-a holds server:/exports/a; team-b's PV names the same storage another way.
  const conflicting: [string, (server: string) => [string, string]][] = [
    ['the same export with doubled and trailing slashes', (s) => [s, '/exports//a/']],
    ['the parent export', (s) => [s, '/exports']],
    ['an export nested inside it', (s) => [s, '/exports/a/sub']],
    ['the same export through ".."', (s) => [s, '/exports/b/../a']],
    ['the server name in other case with a trailing dot', (s) => [`${s.toUpperCase()}.`, '/exports/a']],
  ];
  for (const [what, other] of conflicting) {
    it(`an NFS PV in team-b naming ${what} of team-a's export is refused in both namespaces`, async () => {
      const id = unique();
      const server = `nfs-${id}.example.test`;
      await claimed('team-a', `nfs-a-${id}`, staticPv(`nfs-a-${id}`).nfs(server, '/exports/a'));
      const [s, p] = other(server);
      await claimed('team-b', `nfs-b-${id}`, staticPv(`nfs-b-${id}`).nfs(s, p));
      const b = await world.resolveOne('team-b', `nfs-b-${id}`);
      // A path with ".." is refused for its own sake before the comparison.
      expectRefused(b, p.includes('..') ? 'pv-nfs-source-invalid' : 'pv-identity-shared');
      expectRefused(await world.resolveOne('team-a', `nfs-a-${id}`), 'pv-identity-shared');
    });
  }

  it('NFS PVs on a sibling export or another server are ready, with the export normalised', async () => {
    const id = unique();
    const server = `nfs-${id}.example.test`;
    await claimed('team-a', `nfs-a-${id}`, staticPv(`nfs-a-${id}`).nfs(server, '/exports//a/'));
    await claimed('team-b', `nfs-sib-${id}`, staticPv(`nfs-sib-${id}`).nfs(server, '/exports/ab'));
    await claimed('team-b', `nfs-far-${id}`, staticPv(`nfs-far-${id}`).nfs(`other-${id}.example.test`, '/exports/a'));
    const a = expectReady(await world.resolveOne('team-a', `nfs-a-${id}`));
    expect(a.volume).toMatchObject({ pluginDir: 'kubernetes.io~nfs', pvName: `nfs-a-${id}`, source: { $case: 'nfs', value: { server, path: '/exports/a' } } });
    expectReady(await world.resolveOne('team-b', `nfs-sib-${id}`));
    expectReady(await world.resolveOne('team-b', `nfs-far-${id}`));
  });

  it('hostPath and local PVs are refused as unsupported even when labelled for the namespace; a labelled CSI twin is ready', async () => {
    const id = unique();
    await claimed('team-a', `hp-${id}`, staticPv(`hp-${id}`).hostPath(`/srv/cairn-test/${id}`));
    await claimed('team-a', `local-${id}`, staticPv(`local-${id}`).local(`/mnt/cairn-test/${id}`, 'node-1'));
    await claimed('team-a', `csi-${id}`, staticPv(`csi-${id}`).csi(cluster.csiDriver, `csi-${id}`));
    const results: ResolvedVolume[] = await world.resolve('team-a', { includeVolumes: [`hp-${id}`, `local-${id}`, `csi-${id}`] });
    const byName = new Map(results.map((r) => [r.pvc, r]));
    const hp = expectRefused(byName.get(`hp-${id}`)!, 'pv-source-unsupported', 'CAIRN_E_VOLUME_UNSUPPORTED');
    expect(hp.reason).toContain(`PV hp-${id}`);
    expect(hp.reason).toContain('hostPath');
    const local = expectRefused(byName.get(`local-${id}`)!, 'pv-source-unsupported', 'CAIRN_E_VOLUME_UNSUPPORTED');
    expect(local.reason).toContain('local');
    expectReady(byName.get(`csi-${id}`)!);
  });
});
