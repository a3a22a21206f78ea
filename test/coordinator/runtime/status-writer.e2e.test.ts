// The status writer on the real API server: a writer that loses a race (409 Conflict) reads the
// winner's status and applies its change on top, so neither change is lost; a change that changes
// nothing sends no write at all; an object deleted and created again is never written to.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { isCairnError } from '../../../common/src/errors.ts';
import { setCondition } from '../../../coordinator/src/runtime/conditions.ts';
import { updateStatusWithRetry, type StatusApi } from '../../../coordinator/src/runtime/status-writer.ts';
import { kubeAs } from '../../harness/clients.ts';
import { backup, Backups, createNamespaces, deleteNamespaces, unique } from './runtime-fixtures.ts';

const cluster = inject('cluster');
const admin = kubeAs(cluster, 'admin');
const backups = new Backups(admin);
const ns = `status-${unique()}`;

beforeAll(() => createNamespaces(admin, [ns]));
afterAll(() => deleteNamespaces(admin, [ns]));

/**
 * The real API, counting the writer's calls; `race` runs after a status read returns and before
 * the writer sees it, as another writer slipping in between the read and the write.
 */
function instrumented(race?: (round: number) => Promise<void>): { api: StatusApi; reads: () => number; writes: () => number } {
  const real = admin.makeApiClient(CustomObjectsApi);
  let reads = 0;
  let writes = 0;
  const api: StatusApi = {
    getNamespacedCustomObjectStatus: async (p) => {
      const obj: unknown = await real.getNamespacedCustomObjectStatus(p);
      reads++;
      await race?.(reads);
      return obj;
    },
    replaceNamespacedCustomObjectStatus: (p) => {
      writes++;
      return real.replaceNamespacedCustomObjectStatus(p);
    },
    getClusterCustomObjectStatus: (p) => real.getClusterCustomObjectStatus(p),
    replaceClusterCustomObjectStatus: (p) => real.replaceClusterCustomObjectStatus(p),
  };
  return { api, reads: () => reads, writes: () => writes };
}

describe('updateStatusWithRetry', () => {
  it('a concurrent writer causes a 409; the retry applies the change on top of the winner and keeps both', async () => {
    const name = `race-${unique()}`;
    const created = await backups.create(backup(name, ns));
    const { api, reads, writes } = instrumented(async (round) => {
      if (round === 1) await backups.patchStatus(ns, name, { message: 'written by the other writer', queuePosition: 3 });
    });
    let calls = 0;
    const r = await updateStatusWithRetry(api, { kind: 'Backup', namespace: ns, name, uid: created.metadata.uid! }, (s) => {
      calls++;
      s.phase = 'Queued';
      s.conditions = setCondition(s.conditions, { type: 'Validated', status: 'True', reason: 'SpecValid', message: 'the spec is valid' });
    }, { observedGeneration: created.metadata.generation! });
    expect(r).toMatchObject({ written: true, attempts: 2 });
    expect(calls).toBe(2);
    expect([reads(), writes()]).toEqual([2, 2]); // the first write was refused with 409
    const now = await backups.get(ns, name);
    expect(now.status).toMatchObject({
      phase: 'Queued', message: 'written by the other writer', queuePosition: 3, observedGeneration: created.metadata.generation,
      conditions: [{ type: 'Validated', status: 'True', reason: 'SpecValid' }],
    });
    expect(r.object.metadata.resourceVersion).toBe(now.metadata.resourceVersion);
  });

  it('gives up after the bounded number of attempts when it loses every race', async () => {
    const name = `loser-${unique()}`;
    await backups.create(backup(name, ns));
    const { api, writes } = instrumented(async (round) => {
      await backups.patchStatus(ns, name, { queuePosition: round });
    });
    const err = await updateStatusWithRetry(api, { kind: 'Backup', namespace: ns, name }, (s) => {
      s.phase = 'Queued';
    }, { maxAttempts: 3 }).catch((e: unknown) => e);
    expect(isCairnError(err, 'CAIRN_E_INTERNAL')).toBe(true);
    expect((err as Error).message).toContain(`Backup ${ns}/${name}`);
    expect(writes()).toBe(3);
    expect((await backups.get(ns, name)).status?.phase).toBeUndefined();
  });

  it('a mutate that changes nothing sends no write and leaves the resourceVersion alone', async () => {
    const name = `noop-${unique()}`;
    const created = await backups.create(backup(name, ns));
    const set = (s: { phase?: string; conditions?: Parameters<typeof setCondition>[0] }) => {
      s.phase = 'Queued';
      s.conditions = setCondition(s.conditions, { type: 'Validated', status: 'True', reason: 'SpecValid', message: 'the spec is valid' });
    };
    const first = await updateStatusWithRetry(instrumented().api, { kind: 'Backup', namespace: ns, name }, set, { observedGeneration: created.metadata.generation! });
    expect(first.written).toBe(true);
    const rv = (await backups.get(ns, name)).metadata.resourceVersion;

    const { api, writes } = instrumented();
    const again = await updateStatusWithRetry(api, { kind: 'Backup', namespace: ns, name }, set, { observedGeneration: created.metadata.generation! });
    expect(again).toMatchObject({ written: false, attempts: 1 });
    const untouched = await updateStatusWithRetry(api, { kind: 'Backup', namespace: ns, name }, () => {});
    expect(untouched.written).toBe(false);
    const guarded = await updateStatusWithRetry(api, { kind: 'Backup', namespace: ns, name }, (s) => (s.phase === 'New' ? { ...s, phase: 'InProgress' } : false));
    expect(guarded.written).toBe(false);
    expect(writes()).toBe(0);
    expect((await backups.get(ns, name)).metadata.resourceVersion).toBe(rv);
  });

  it('refuses to write to an object deleted and created again under the same name, and names a missing one', async () => {
    const name = `reborn-${unique()}`;
    const old = await backups.create(backup(name, ns));
    await backups.delete(ns, name);
    await backups.waitGone(ns, name);
    const missing = await updateStatusWithRetry(instrumented().api, { kind: 'Backup', namespace: ns, name }, (s) => {
      s.phase = 'Queued';
    }).catch((e: unknown) => e);
    expect(isCairnError(missing, 'CAIRN_E_NOT_FOUND')).toBe(true);
    await backups.create(backup(name, ns));
    const { api, writes } = instrumented();
    const err = await updateStatusWithRetry(api, { kind: 'Backup', namespace: ns, name, uid: old.metadata.uid! }, (s) => {
      s.phase = 'Failed';
    }).catch((e: unknown) => e);
    expect(isCairnError(err, 'CAIRN_E_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toContain('deleted and created again');
    expect(writes()).toBe(0);
    expect((await backups.get(ns, name)).status?.phase).toBeUndefined();
  });
});
