// A tenant cannot fill a node's disk or reach another namespace through a restore (issue 7,
// attacks 1 and 10): a restore writes at most the target PVC's capacity (the agent job's
// maxBytes), and a target names a PVC of the Restore's own namespace only.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fillRandom } from '../agent/agent-fixtures.ts';
import type { RunningCoordinator } from '../harness/coordinator.ts';
import { isolatedCoordinator, Tenant, unique } from '../coordinator/e2e/tenant-fixtures.ts';

const cluster = inject('cluster');
const u = unique();
const t = new Tenant(cluster, `sr${u}-a`, 'team-a-admin', 'team-a');
const final = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];
let coordinator: RunningCoordinator;

beforeAll(async () => {
  await t.setUp();
  coordinator = await isolatedCoordinator(cluster, `sr${u}`, 1);
  const dir = await t.pvc('data', { size: '256Mi' });
  await fillRandom(dir, 96 << 20);
  await t.pod('app', 'data', 'node-1');
  await t.location('main');
  await t.waitPhase('backupstoragelocations', 'main', ['Available']);
  await t.backup('first', { storageLocation: 'main' });
  expect((await t.waitPhase('backups', 'first', final)).status?.phase).toBe('Completed');
}, 240_000);

afterAll(async () => {
  await coordinator?.stop();
});

describe('restore size cap', () => {
  it('96 MiB restored into a 32Mi PVC fails with CAIRN_E_LIMIT_EXCEEDED; into a 128Mi PVC it completes', async () => {
    await t.pvc('small', { size: '32Mi' });
    await t.restore('too-big', { backupName: 'first', targets: [{ volume: 'data', pvc: 'small' }] });
    const refused = await t.waitPhase('restores', 'too-big', final);
    expect(refused.status?.phase).toBe('Failed');
    expect(refused.status!.volumes![0]).toMatchObject({ pvc: 'small', phase: 'Failed', errorCode: 'CAIRN_E_LIMIT_EXCEEDED' });

    await t.pvc('enough', { size: '128Mi' });
    await t.restore('fits', { backupName: 'first', targets: [{ volume: 'data', pvc: 'enough' }] });
    expect((await t.waitPhase('restores', 'fits', final)).status?.phase).toBe('Completed');
  });
});

describe('restore targets stay in the namespace', () => {
  it("a target naming another namespace's PVC (ns/name) is refused by the API server naming the field; a plain name is accepted", async () => {
    const err = await t.restore('elsewhere', { backupName: 'first', targets: [{ volume: 'data', pvc: 'team-b/data' }] }).then(() => undefined, (e: unknown) => e);
    expect((err as { code?: number }).code).toBe(422);
    expect(String((err as { body?: unknown }).body)).toContain('spec.targets[0].pvc');
    await t.restore('here', { backupName: 'first', targets: [{ volume: 'data', pvc: 'here' }] });
    expect((await t.waitPhase('restores', 'here', final)).status?.phase).toBe('Completed');
  });
});
