// PV hijack variants through the real PV controller (issue 7, row 2): a PV is backed up for a
// namespace only if an admin labelled it for that namespace or it was dynamically provisioned for
// exactly that claim. Static PVs, claimRefs to other namespaces, volumeName claims, Released PVs
// made Available and re-bound: each refused beside a twin that is accepted.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { pod, pvc } from '../../harness/builders.ts';
import { mergePatch } from '../../harness/kube-errors.ts';
import { expectReady, expectRefused, ResolveWorld, staticPv, tenantLabel, unique } from './resolve-fixtures.ts';

const cluster = inject('cluster');
const world = new ResolveWorld(cluster);

afterAll(() => world.cleanup());

/** A tenant's claim of a static PV (no StorageClass, so nothing is provisioned for it). */
const staticClaim = (name: string, ns: string) => pvc(name, ns).storageClass('');

async function mount(ns: string, claim: string): Promise<void> {
  await world.createPod(pod(`use-${claim}`, ns).withPvc(claim).build());
  await world.waitRunning(ns, `use-${claim}`);
}

/**
 * A PV that held team-a's data: dynamically provisioned for a team-a claim, switched to Retain,
 * its claim deleted (the PV is Released), then given a StorageClass of its own so no other
 * suite's claim can be matched to it once an admin makes it Available.
 */
async function releasedPv(id: string): Promise<string> {
  const ns = 'team-a';
  await world.createPvc(pvc(`old-${id}`, ns).build());
  const bound = await world.waitPvcPhase(ns, `old-${id}`, 'Bound');
  const pvName = bound.spec!.volumeName!;
  world.adopt(pvName);
  await world.admin.patchPersistentVolume({ name: pvName, body: { spec: { persistentVolumeReclaimPolicy: 'Retain', storageClassName: `released-${id}` } } }, mergePatch);
  await world.admin.deleteNamespacedPersistentVolumeClaim({ name: `old-${id}`, namespace: ns });
  await world.waitGone(ns, `old-${id}`);
  await world.waitPvPhase(pvName, 'Released');
  return pvName;
}

describe('PV acceptance', () => {
  it('a static PV an admin pre-bound to a team-a claim is refused without the tenant label and accepted with it', async () => {
    const id = unique();
    const ns = 'team-a';
    await world.createPv(staticPv(`static-${id}`).csi(cluster.csiDriver, `static-${id}`).claimRef(ns, `static-${id}`).build());
    await world.createPv(staticPv(`labelled-${id}`).csi(cluster.csiDriver, `labelled-${id}`).claimRef(ns, `labelled-${id}`).tenant(ns).build());
    await world.createPvc(staticClaim(`static-${id}`, ns).build());
    await world.createPvc(staticClaim(`labelled-${id}`, ns).build());
    await world.waitPvcPhase(ns, `static-${id}`, 'Bound');
    await world.waitPvcPhase(ns, `labelled-${id}`, 'Bound');
    await mount(ns, `static-${id}`);
    await mount(ns, `labelled-${id}`);

    const refused = expectRefused(await world.resolveOne(ns, `static-${id}`), 'pv-not-provisioned');
    expect(refused.reason).toContain(`PV static-${id}`);
    expect(refused.reason).toContain(`${tenantLabel}=${ns}`);
    const ok = expectReady(await world.resolveOne(ns, `labelled-${id}`));
    expect(ok.acceptedBy).toBe('tenant-label');
    await world.expectAgentAccepts(ok.pod.node, ok.volume);
  });

  it('a PV pre-provisioned for team-a but claimed first by team-b through volumeName is refused for team-b; claimed by team-a it is accepted', async () => {
    const id = unique();
    // Available PVs of a StorageClass of their own, so that no other suite's claim is matched to them.
    const sc = `fora-${id}`;
    await world.createPv(staticPv(`fora-${id}`).csi(cluster.csiDriver, `fora-${id}`).storageClass(sc).tenant('team-a').build());
    await world.createPv(staticPv(`fora2-${id}`).csi(cluster.csiDriver, `fora2-${id}`).storageClass(sc).tenant('team-a').build());
    await world.createPvc(pvc(`grab-${id}`, 'team-b').storageClass(sc).volumeName(`fora-${id}`).build());
    await world.createPvc(pvc(`mine-${id}`, 'team-a').storageClass(sc).volumeName(`fora2-${id}`).build());
    await world.waitPvcPhase('team-b', `grab-${id}`, 'Bound');
    await world.waitPvcPhase('team-a', `mine-${id}`, 'Bound');

    const refused = expectRefused(await world.resolveOne('team-b', `grab-${id}`), 'pv-labelled-for-other-namespace');
    expect(refused.reason).toContain(`PV fora-${id}`);
    expect(refused.reason).not.toContain('team-a');
    expect((await world.resolveOne('team-a', `mine-${id}`)).status).toBe('needs-helper-pod');
  });

  it("a team-a claim naming by volumeName a PV pre-bound to team-b's claim never binds and is refused; the PV's own claim is accepted", async () => {
    const id = unique();
    await world.createPv(staticPv(`forb-${id}`).csi(cluster.csiDriver, `forb-${id}`).claimRef('team-b', `data-${id}`).tenant('team-b').build());
    await world.createPvc(staticClaim(`steal-${id}`, 'team-a').volumeName(`forb-${id}`).build());
    await world.createPod(pod(`steal-${id}`, 'team-a').withPvc(`steal-${id}`).build());
    await sleep(3_000); // several passes of the PV controller
    const refused = expectRefused(await world.resolveOne('team-a', `steal-${id}`), 'pvc-not-bound', 'CAIRN_E_VOLUME_NOT_READY');
    expect(refused.reason).toContain(`PVC steal-${id}`);

    await world.createPvc(staticClaim(`data-${id}`, 'team-b').build());
    await world.waitPvcPhase('team-b', `data-${id}`, 'Bound');
    await mount('team-b', `data-${id}`);
    expectReady(await world.resolveOne('team-b', `data-${id}`));
  });

  it('a Released PV made Available (claimRef removed) and claimed by volumeName from team-b is refused: the binder wrote its claimRef', async () => {
    const id = unique();
    const pvName = await releasedPv(id);
    await world.admin.patchPersistentVolume({ name: pvName, body: { spec: { claimRef: null } } }, mergePatch);
    await world.waitPvPhase(pvName, 'Available');
    await world.createPvc(pvc(`steal-${id}`, 'team-b').storageClass(`released-${id}`).volumeName(pvName).build());
    await world.waitPvcPhase('team-b', `steal-${id}`, 'Bound');
    const pv = await world.admin.readPersistentVolume({ name: pvName });
    // What the real PV controller wrote: the claimRef and bound-by-controller; provisioned-by stays.
    expect(pv.metadata!.annotations).toMatchObject({ 'pv.kubernetes.io/bound-by-controller': 'yes', 'pv.kubernetes.io/provisioned-by': cluster.csiDriver });
    await mount('team-b', `steal-${id}`);

    const refused = expectRefused(await world.resolveOne('team-b', `steal-${id}`), 'pv-bound-by-binder');
    expect(refused.reason).toContain(`PV ${pvName}`);
    // Twin: the admin deliberately gives the volume to team-b.
    await world.admin.patchPersistentVolume({ name: pvName, body: { metadata: { labels: { [tenantLabel]: 'team-b' } } } }, mergePatch);
    expect(expectReady(await world.resolveOne('team-b', `steal-${id}`)).acceptedBy).toBe('tenant-label');
  });

  it('a Released PV made Available (claimRef uid removed) and re-bound to a new claim of the same name is refused: the PV is older than the claim', async () => {
    const id = unique();
    const pvName = await releasedPv(id);
    await world.admin.patchPersistentVolume({ name: pvName, body: { spec: { claimRef: { uid: null, resourceVersion: null } } } }, mergePatch);
    await world.waitPvPhase(pvName, 'Available');
    // Creation times have one-second resolution; a real Released PV is far older than the new
    // claim, so let at least a second pass (within one second the order cannot be told).
    await new Promise((r) => setTimeout(r, 1_100));
    await world.createPvc(pvc(`old-${id}`, 'team-a').storageClass(`released-${id}`).build());
    const claim = await world.waitPvcPhase('team-a', `old-${id}`, 'Bound');
    expect(claim.spec!.volumeName).toBe(pvName);
    const pv = await world.admin.readPersistentVolume({ name: pvName });
    // What the real PV controller wrote: the new claim's uid, and no bound-by-controller (the PV was pre-bound by name).
    expect(pv.spec!.claimRef!.uid).toBe(claim.metadata!.uid);
    expect(pv.metadata!.annotations).toEqual({ 'pv.kubernetes.io/provisioned-by': cluster.csiDriver });
    await mount('team-a', `old-${id}`);

    const refused = expectRefused(await world.resolveOne('team-a', `old-${id}`), 'pv-older-than-claim');
    expect(refused.reason).toContain(`PV ${pvName}`);
    await world.admin.patchPersistentVolume({ name: pvName, body: { metadata: { labels: { [tenantLabel]: 'team-a' } } } }, mergePatch);
    expect(expectReady(await world.resolveOne('team-a', `old-${id}`)).acceptedBy).toBe('tenant-label');
  });

  it('what the real PV controller writes on dynamic provisioning: claimRef with uid, provisioned-by, and nothing else on the PV', async () => {
    const id = unique();
    const claim = await world.createPvc(pvc(`fresh-${id}`, 'team-a').build());
    const bound = await world.waitPvcPhase('team-a', `fresh-${id}`, 'Bound');
    const pv = await world.admin.readPersistentVolume({ name: bound.spec!.volumeName! });
    expect(pv.metadata!.annotations).toEqual({ 'pv.kubernetes.io/provisioned-by': cluster.csiDriver });
    expect(pv.spec!.claimRef).toMatchObject({ namespace: 'team-a', name: `fresh-${id}`, uid: claim.metadata!.uid });
    expect(new Date(pv.metadata!.creationTimestamp!).getTime()).toBeGreaterThanOrEqual(new Date(claim.metadata!.creationTimestamp!).getTime());
    // The PVC's annotations are the controller's, but a tenant may write them too: the resolver never reads them.
    expect(bound.metadata!.annotations).toMatchObject({ 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' });
    await world.tenant('team-a').patchNamespacedPersistentVolumeClaim({ name: `fresh-${id}`, namespace: 'team-a', body: { metadata: { annotations: { 'pv.kubernetes.io/provisioned-by': 'forged' } } } }, mergePatch);
    expect((await world.resolveOne('team-a', `fresh-${id}`)).status).toBe('needs-helper-pod');
  });
});
