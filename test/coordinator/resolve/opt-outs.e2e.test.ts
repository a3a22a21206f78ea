// What a tenant chooses not to back up, and what cannot be backed up yet: opted-out PVCs and pods,
// podSelector, include/exclude lists, Block mode, a claim that never binds. Each beside a twin
// that is backed up.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { pod, pvc } from '../../harness/builders.ts';
import { expectReady, expectRefused, ResolveWorld, unique } from './resolve-fixtures.ts';

const cluster = inject('cluster');
const world = new ResolveWorld(cluster);
const ns = 'team-a';

afterAll(() => world.cleanup());

/** A bound PVC of the local StorageClass mounted by a running pod. */
async function mountedPvc(name: string, podOpts: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Promise<void> {
  await world.createPvc(pvc(name, ns).build());
  await world.waitPvcPhase(ns, name, 'Bound');
  const p = pod(name, ns).withPvc(name).build();
  p.metadata!.labels = podOpts.labels;
  p.metadata!.annotations = podOpts.annotations;
  await world.createPod(p);
  await world.waitRunning(ns, name);
}

describe('opt-outs', () => {
  it('a PVC annotated cairn.dev/exclude=true is excluded; annotated "false" it is backed up', async () => {
    const id = unique();
    await world.createPvc(pvc(`optout-${id}`, ns).annotate('cairn.dev/exclude', 'true').build());
    await world.createPvc(pvc(`optin-${id}`, ns).annotate('cairn.dev/exclude', 'false').build());
    await world.waitPvcPhase(ns, `optin-${id}`, 'Bound');
    const all = await world.resolve(ns, { includeVolumes: [`optout-${id}`, `optin-${id}`] });
    expect(all.find((r) => r.pvc === `optout-${id}`)).toMatchObject({ status: 'excluded', by: 'pvc-annotation' });
    expect(all.find((r) => r.pvc === `optin-${id}`)).toMatchObject({ status: 'needs-helper-pod' });
  });

  it('a pod annotated cairn.dev/exclude=true excludes the PVCs it mounts; its twin without the annotation does not', async () => {
    const id = unique();
    await mountedPvc(`podout-${id}`, { annotations: { 'cairn.dev/exclude': 'true' } });
    await mountedPvc(`podin-${id}`);
    const all = await world.resolve(ns, { includeVolumes: [`podout-${id}`, `podin-${id}`] });
    const out = all.find((r) => r.pvc === `podout-${id}`);
    expect(out).toMatchObject({ status: 'excluded', by: 'pod-annotation' });
    expect(out?.status === 'excluded' && out.reason).toContain(`pod podout-${id}`);
    expectReady(all.find((r) => r.pvc === `podin-${id}`)!);
  });

  it('podSelector backs up only PVCs that matching pods mount', async () => {
    const id = unique();
    await mountedPvc(`sel-db-${id}`, { labels: { app: `db-${id}` } });
    await mountedPvc(`sel-web-${id}`, { labels: { app: `web-${id}` } });
    const all = await world.resolve(ns, { podSelector: { matchLabels: { app: `db-${id}` } } });
    expectReady(all.find((r) => r.pvc === `sel-db-${id}`)!);
    expect(all.find((r) => r.pvc === `sel-web-${id}`)).toMatchObject({ status: 'excluded', by: 'pod-selector' });
  });

  it('excludeVolumes skips a PVC, includeVolumes keeps only those listed, and a listed PVC that does not exist is refused', async () => {
    const id = unique();
    await mountedPvc(`list-a-${id}`);
    await mountedPvc(`list-b-${id}`);
    const excluded = await world.resolve(ns, { excludeVolumes: [`list-a-${id}`] });
    expect(excluded.find((r) => r.pvc === `list-a-${id}`)).toMatchObject({ status: 'excluded', by: 'exclude-volumes' });
    expectReady(excluded.find((r) => r.pvc === `list-b-${id}`)!);
    const included = await world.resolve(ns, { includeVolumes: [`list-b-${id}`, `nothere-${id}`] });
    expect(included.find((r) => r.pvc === `list-a-${id}`)).toMatchObject({ status: 'excluded', by: 'include-volumes' });
    expectReady(included.find((r) => r.pvc === `list-b-${id}`)!);
    const missing = expectRefused(included.find((r) => r.pvc === `nothere-${id}`)!, 'pvc-not-found', 'CAIRN_E_NOT_FOUND');
    expect(missing.reason).toContain(`nothere-${id}`);
  });

  it('a Block-mode PVC is refused with a reason naming it; its Filesystem twin is ready', async () => {
    const id = unique();
    const block = pvc(`block-${id}`, ns).build();
    block.spec!.volumeMode = 'Block';
    await world.createPvc(block);
    await world.waitPvcPhase(ns, `block-${id}`, 'Bound');
    const p = pod(`block-${id}`, ns).build();
    p.spec!.volumes!.push({ name: 'raw', persistentVolumeClaim: { claimName: `block-${id}` } });
    p.spec!.containers[0]!.volumeDevices = [{ name: 'raw', devicePath: '/dev/xvda' }];
    await world.createPod(p);
    await world.waitRunning(ns, `block-${id}`);
    const r = expectRefused(await world.resolveOne(ns, `block-${id}`), 'pvc-block-mode', 'CAIRN_E_VOLUME_UNSUPPORTED');
    expect(r.reason).toContain(`PVC block-${id}`);
    await mountedPvc(`fs-${id}`);
    expectReady(await world.resolveOne(ns, `fs-${id}`));
  });

  it('a PVC that never binds is refused as not ready, naming it and its phase; a bound twin is ready', async () => {
    const id = unique();
    await world.createPvc(pvc(`pending-${id}`, ns).storageClass(`no-such-class-${id}`).build());
    await world.createPod(pod(`pending-${id}`, ns).withPvc(`pending-${id}`).build());
    // The PV controller resyncs every second; give it a few passes.
    await new Promise((r) => setTimeout(r, 3_000));
    const r = expectRefused(await world.resolveOne(ns, `pending-${id}`), 'pvc-not-bound', 'CAIRN_E_VOLUME_NOT_READY');
    expect(r.reason).toContain(`PVC pending-${id} is Pending`);
    await mountedPvc(`bound-${id}`);
    expectReady(await world.resolveOne(ns, `bound-${id}`));
  });
});
