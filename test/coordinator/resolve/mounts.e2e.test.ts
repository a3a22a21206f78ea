// The resolver on the real API server and PV controller: a tenant's dynamically provisioned PVC,
// mounted by its pod, resolves to exactly the VolumeRef the node agent's own mount check accepts;
// a PVC with no running pod needs a helper pod, and resolves through it once it runs.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { helperPodSpec } from '../../../coordinator/src/resolve/helper-pod.ts';
import { pod, pvc } from '../../harness/builders.ts';
import { expectReady, expectRefused, ResolveWorld, unique } from './resolve-fixtures.ts';

const cluster = inject('cluster');
const world = new ResolveWorld(cluster);
const ns = 'team-a';

afterAll(() => world.cleanup());

describe('verified mounts', () => {
  it('a dynamically provisioned PVC mounted by a running pod is ready with the VolumeRef the agent accepts', async () => {
    const id = unique();
    const claim = await world.createPvc(pvc(`dyn-${id}`, ns).build());
    const bound = await world.waitPvcPhase(ns, `dyn-${id}`, 'Bound');
    // The pod's name for the volume differs from the claim's: the VolumeRef carries the pod's.
    await world.createPod(pod(`app-${id}`, ns).withPvc(`dyn-${id}`, 'appdata').build());
    const running = await world.waitRunning(ns, `app-${id}`);
    const pv = await world.admin.readPersistentVolume({ name: bound.spec!.volumeName! });

    const r = expectReady(await world.resolveOne(ns, `dyn-${id}`));
    expect(r).toEqual({
      pvc: `dyn-${id}`, pvcUid: claim.metadata!.uid, status: 'ready', acceptedBy: 'dynamic-provisioning',
      pod: { name: `app-${id}`, uid: running.metadata!.uid, node: running.spec!.nodeName },
      volume: {
        podUid: running.metadata!.uid, volumeName: 'appdata', pluginDir: 'kubernetes.io~csi', pvName: pv.metadata!.name,
        source: { $case: 'csi', value: { driver: cluster.csiDriver, volumeHandle: pv.spec!.csi!.volumeHandle } },
      },
      capacityBytes: 2 ** 30,
    });
    await world.expectAgentAccepts(r.pod.node, r.volume);
  });

  it('a PVC no running pod mounts needs a helper pod, and resolves through the helper once it runs', async () => {
    const id = unique();
    const claim = await world.createPvc(pvc(`idle-${id}`, ns).build());
    await world.waitPvcPhase(ns, `idle-${id}`, 'Bound');
    // A pod that is not Running (it names a node that does not exist) does not count.
    await world.createPod(pod(`stuck-${id}`, ns).withPvc(`idle-${id}`).onNode('node-none').build());
    const before = await world.resolveOne(ns, `idle-${id}`);
    expect(before).toMatchObject({ pvc: `idle-${id}`, status: 'needs-helper-pod', pvcUid: claim.metadata!.uid, capacityBytes: 2 ** 30 });

    const helper = helperPodSpec(claim, { nodes: ['node-2'] });
    expect(helper.spec!.automountServiceAccountToken).toBe(false);
    await world.createPodAsAdmin(helper);
    const running = await world.waitRunning(ns, helper.metadata!.name!);
    expect(running.spec!.nodeName).toBe('node-2');
    const after = expectReady(await world.resolveOne(ns, `idle-${id}`));
    expect(after.pod).toEqual({ name: helper.metadata!.name, uid: running.metadata!.uid, node: 'node-2' });
    expect(after.volume.volumeName).toBe('data');
    await world.expectAgentAccepts('node-2', after.volume);
  });

  it('of two running pods mounting a PVC the older is chosen, whatever their names', async () => {
    const id = unique();
    await world.createPvc(pvc(`shared-${id}`, ns).build());
    await world.waitPvcPhase(ns, `shared-${id}`, 'Bound');
    await world.createPod(pod(`z-old-${id}`, ns).withPvc(`shared-${id}`).onNode('node-1').build());
    await world.waitRunning(ns, `z-old-${id}`);
    await sleep(1_100); // creationTimestamp has one-second resolution
    await world.createPod(pod(`a-new-${id}`, ns).withPvc(`shared-${id}`).onNode('node-1').build());
    await world.waitRunning(ns, `a-new-${id}`);
    for (let i = 0; i < 3; i++) expect(expectReady(await world.resolveOne(ns, `shared-${id}`)).pod.name).toBe(`z-old-${id}`);
  });

  it('a pod on a node without an agent is refused naming the node; on a node with one it is ready', async () => {
    const id = unique();
    await world.createPvc(pvc(`far-${id}`, ns).build());
    await world.waitPvcPhase(ns, `far-${id}`, 'Bound');
    await world.createPod(pod(`far-${id}`, ns).withPvc(`far-${id}`).onNode('node-2').build());
    await world.waitRunning(ns, `far-${id}`);
    const refused = expectRefused(await world.resolveOne(ns, `far-${id}`, { agentNodes: ['node-1'] }), 'pod-no-agent', 'CAIRN_E_AGENT_UNAVAILABLE');
    expect(refused.reason).toContain('node-2');
    expect(expectReady(await world.resolveOne(ns, `far-${id}`, { agentNodes: ['node-1', 'node-2'] })).pod.node).toBe('node-2');
  });

  it("a pod's hostPath volume is never resolved: only its PVC is, and the result carries no path", async () => {
    const id = unique();
    await world.createPvc(pvc(`withhost-${id}`, ns).build());
    await world.waitPvcPhase(ns, `withhost-${id}`, 'Bound');
    const p = pod(`withhost-${id}`, ns).withPvc(`withhost-${id}`).build();
    p.spec!.volumes!.push({ name: 'host', hostPath: { path: '/etc' } });
    p.spec!.containers[0]!.volumeMounts!.push({ name: 'host', mountPath: '/host' });
    await world.createPod(p);
    await world.waitRunning(ns, `withhost-${id}`);
    const all = await world.resolve(ns);
    expect(all.filter((r) => r.status === 'ready' && r.pod.name === `withhost-${id}`).map((r) => r.pvc)).toEqual([`withhost-${id}`]);
    const mine = expectReady(all.find((r) => r.pvc === `withhost-${id}`)!);
    expect(Object.keys(mine.volume).sort()).toEqual(['pluginDir', 'podUid', 'pvName', 'source', 'volumeName']);
    expect(JSON.stringify(mine)).not.toContain('/etc');
  });

  it('a generic ephemeral volume resolves through the pod that owns its PVC', async () => {
    const id = unique();
    const p = pod(`eph-${id}`, ns).build();
    p.spec!.volumes!.push({ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], storageClassName: cluster.storageClass, resources: { requests: { storage: '1Gi' } } } } } });
    p.spec!.containers[0]!.volumeMounts!.push({ name: 'scratch', mountPath: '/scratch' });
    const made = await world.createPod(p);
    await world.waitPvcPhase(ns, `eph-${id}-scratch`, 'Bound');
    await world.waitRunning(ns, `eph-${id}`);
    const r = expectReady(await world.resolveOne(ns, `eph-${id}-scratch`));
    expect({ pod: r.pod.uid, volume: r.volume.volumeName }).toEqual({ pod: made.metadata!.uid, volume: 'scratch' });
  });
});
