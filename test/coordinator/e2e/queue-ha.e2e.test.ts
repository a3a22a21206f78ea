// Fair queues, cancellation and leader election with real coordinator processes. These
// coordinators have an admin namespace of their own (the agents stay in cairn-system) and a Lease
// of their own, so they never meet the coordinator of tenants.e2e.test.ts, which may run at the
// same time.
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fillRandom, coordinatorTo } from '../../agent/agent-fixtures.ts';
import { s3As } from '../../harness/clients.ts';
import type { RunningCoordinator } from '../../harness/coordinator.ts';
import { waitFor } from '../../harness/wait.ts';
import { checksums, isolatedCoordinator, Tenant, unique, writeTree } from './tenant-fixtures.ts';

const cluster = inject('cluster');
const u = unique();
const a = new Tenant(cluster, `cq${u}-a`, 'team-a-admin', 'team-a');
const b = new Tenant(cluster, `cq${u}-b`, 'team-b-admin', 'team-b');
const final = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];
const coordinators: RunningCoordinator[] = [];

async function start(n: number, ready: 'coordinator started' | 'waiting for leadership'): Promise<RunningCoordinator> {
  const c = await isolatedCoordinator(cluster, `cq${u}`, n, { ready, extraArgs: ['--jobs-per-tenant', '1'] });
  coordinators.push(c);
  return c;
}

async function uploadsLeft(tenant: string, prefix: string): Promise<number> {
  const r = await s3As(cluster, tenant).send(new ListMultipartUploadsCommand({ Bucket: cluster.minio.tenants[tenant]!.bucket, Prefix: prefix }));
  return r.Uploads?.length ?? 0;
}

async function manifests(tenant: string, prefix: string): Promise<string[]> {
  const r = await s3As(cluster, tenant).send(new ListObjectsV2Command({ Bucket: cluster.minio.tenants[tenant]!.bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('/manifest.json'));
}

beforeAll(async () => {
  await Promise.all([a.setUp(), b.setUp()]);
  await start(1, 'coordinator started');
  await Promise.all([a.location('main'), b.location('main')]);
  await Promise.all([a.waitPhase('backupstoragelocations', 'main', ['Available']), b.waitPhase('backupstoragelocations', 'main', ['Available'])]);
});

afterAll(async () => {
  for (const c of coordinators) await c.stop();
});

describe('fair queue', () => {
  it('tenant a queues five backups, then b one: one at a time per tenant, and b does not wait behind a', async () => {
    const [da, db] = await Promise.all([a.pvc('small'), b.pvc('small')]);
    await Promise.all([fillRandom(da, 48 << 20), writeTree(db, 'b', 5)]);
    await Promise.all([a.pod('app', 'small', 'node-1'), b.pod('app', 'small', 'node-2')]);
    for (let i = 1; i <= 5; i++) await a.backup(`q${i}`, { storageLocation: 'main', includeVolumes: ['small'] });
    // a's later backups wait with a position, which the coordinator keeps in status.
    const waiting = await waitFor('q5 Queued with a queuePosition', async () => {
      const cr = await a.get('backups', 'q5');
      return cr.status?.phase === 'Queued' && (cr.status as { queuePosition?: number }).queuePosition ? cr : undefined;
    });
    expect((waiting.status as { queuePosition?: number }).queuePosition).toBeGreaterThanOrEqual(1);
    await b.backup('q1', { storageLocation: 'main', includeVolumes: ['small'] });
    const as = await Promise.all([1, 2, 3, 4, 5].map((i) => a.waitPhase('backups', `q${i}`, final, 120_000)));
    const b1 = await b.waitPhase('backups', 'q1', final);
    for (const x of [...as, b1]) expect(x.status?.phase, JSON.stringify(x.status)).toBe('Completed');
    const t = (cr: typeof b1, f: 'startTimestamp' | 'completionTimestamp') => Date.parse((cr.status as Record<string, string>)[f]!);
    // Per tenant one at a time (--jobs-per-tenant 1): each of a's starts after the previous ended.
    for (let i = 1; i < 5; i++) expect(t(as[i]!, 'startTimestamp')).toBeGreaterThanOrEqual(t(as[i - 1]!, 'completionTimestamp'));
    // b's one backup did not wait for a's queue: it started before a's last had even started.
    expect(t(b1, 'startTimestamp')).toBeLessThan(t(as[4]!, 'startTimestamp'));
    expect(t(b1, 'startTimestamp')).toBeLessThanOrEqual(t(as[1]!, 'startTimestamp'));
  });
});

describe('cancellation', () => {
  it('deleting an in-progress Backup stops its agent job within seconds and leaves no upload parts and no manifest', async () => {
    const dir = await b.pvc('big', { size: '2Gi' });
    await fillRandom(dir, 1536 << 20);
    await b.pod('big', 'big', 'node-2');
    await b.backup('doomed', { storageLocation: 'main', includeVolumes: ['big'] });
    const agent = coordinatorTo(cluster, 'node-2');
    try {
      await waitFor('the agent job of doomed to run', async () => (await agent.nodeStatus()).activeJobs.some((j) => j.identity?.ownerName === 'doomed'), { timeoutMs: 60_000, intervalMs: 100 });
      // Progress shows in status while the backup runs (written every 2 s).
      const running = await waitFor('progress in the status of doomed', async () => {
        const cr = await b.get('backups', 'doomed');
        return cr.status?.phase === 'InProgress' && (cr.status.progress?.bytesDone ?? 0) > 0 ? cr : undefined;
      }, { timeoutMs: 10_000, intervalMs: 200 });
      expect(running.status!.volumes![0]).toMatchObject({ pvc: 'big', phase: 'InProgress', node: 'node-2' });
      await b.objects.deleteNamespacedCustomObject({ group: 'cairn.dev', version: 'v1alpha1', namespace: b.namespace, plural: 'backups', name: 'doomed' });
      const stoppedAt = Date.now();
      await waitFor('the agent job to stop', async () => !(await agent.nodeStatus()).activeJobs.some((j) => j.identity?.ownerName === 'doomed'), { timeoutMs: 15_000, intervalMs: 100 });
      expect(Date.now() - stoppedAt).toBeLessThan(15_000);
      await waitFor('no multipart upload left', async () => (await uploadsLeft('team-b', `${b.namespace}/`)) === 0, { timeoutMs: 15_000 });
      expect(await manifests('team-b', `${b.namespace}/cairn/v1/backups/doomed/`)).toEqual([]);
    } finally {
      agent.close();
    }
  });
});

describe('leader election', () => {
  it('the leader dies mid-backup (512 MiB): the standby takes over and completes it, byte-identical, once, with no parts left', async () => {
    const standby = await start(2, 'waiting for leadership');
    const dir = await a.pvc('big', { size: '2Gi' });
    await fillRandom(dir, 512 << 20);
    await writeTree(dir, 'ha', 20);
    const before = await checksums(dir);
    await a.pod('big', 'big', 'node-1');
    await a.backup('ha', { storageLocation: 'main', includeVolumes: ['big'] });
    const agent = coordinatorTo(cluster, 'node-1');
    try {
      await waitFor('the agent job of ha to run', async () => (await agent.nodeStatus()).activeJobs.some((j) => j.identity?.ownerName === 'ha'), { timeoutMs: 60_000, intervalMs: 100 });
    } finally {
      agent.close();
    }
    const leader = coordinators[0]!;
    process.kill(leader.process.pid!, 'SIGKILL');
    await leader.process.waitExit();
    const killedAt = Date.now();
    // The leader died with the backup in progress (else this would test nothing).
    expect((await a.get('backups', 'ha')).status?.phase).toBe('InProgress');
    const done = await a.waitPhase('backups', 'ha', final, 90_000);
    expect(done.status, JSON.stringify(done.status)).toMatchObject({ phase: 'Completed' });
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    standby.process.assertRunning();
    expect(await manifests('team-a', `${a.namespace}/cairn/v1/backups/ha/`)).toHaveLength(1);
    await waitFor('no multipart upload left', async () => (await uploadsLeft('team-a', `${a.namespace}/`)) === 0, { timeoutMs: 15_000 });
    // Restore it into a new PVC and compare every file.
    await a.restore('ha', { backupName: 'ha', targets: [{ volume: 'big', pvc: 'big-copy' }] });
    expect((await a.waitPhase('restores', 'ha', final, 120_000)).status?.phase).toBe('Completed');
    expect(await checksums(await a.backingDir('big-copy'))).toEqual(before);
  }, 360_000);
});
