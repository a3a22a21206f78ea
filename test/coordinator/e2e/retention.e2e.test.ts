// A Schedule's retention through the real coordinator: five runs of one Schedule (made here with
// its label and scheduled-time annotation, so the test does not wait for the cron), keepLast 3:
// the two oldest are deleted through DeleteBackupRequests, their manifests and the packs only
// they referenced leave the bucket, packs shared with kept backups stay, and the kept backups
// restore byte-identical.
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { s3As } from '../../harness/clients.ts';
import type { RunningCoordinator } from '../../harness/coordinator.ts';
import { waitFor } from '../../harness/wait.ts';
import { checksums, group, isolatedCoordinator, Tenant, unique, version, writeTree } from './tenant-fixtures.ts';

const cluster = inject('cluster');
const u = unique();
const t = new Tenant(cluster, `rt${u}-a`, 'team-a-admin', 'team-a');
const final = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];
const bucket = cluster.minio.tenants['team-a']!.bucket;
let coordinator: RunningCoordinator;

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3As(cluster, 'team-a').send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    out.push(...(r.Contents ?? []).map((o) => o.Key!));
    token = r.NextContinuationToken;
  } while (token);
  return out.sort();
}

async function packsOf(backup: string): Promise<string[]> {
  const r = await s3As(cluster, 'team-a').send(new GetObjectCommand({ Bucket: bucket, Key: `${t.namespace}/cairn/v1/backups/${backup}/manifest.json` }));
  const m = JSON.parse(await r.Body!.transformToString()) as { volumes: { lineage: string; packs: string[] }[] };
  return m.volumes.flatMap((v) => v.packs.map((p) => `${t.namespace}/cairn/v1/packs/${v.lineage}/${p}.pack`));
}

beforeAll(async () => {
  await t.setUp();
  coordinator = await isolatedCoordinator(cluster, `rt${u}`, 1);
  await t.location('main');
  await t.waitPhase('backupstoragelocations', 'main', ['Available']);
}, 120_000);

afterAll(async () => {
  await coordinator?.stop();
});

describe('schedule retention', () => {
  it('keepLast 3 after five runs keeps exactly three; the deleted ones\' own packs leave the bucket, shared packs stay, kept backups restore identical', async () => {
    const dir = await t.pvc('data');
    await writeTree(dir, 'retention', 20);
    await t.pod('app', 'data', 'node-1');
    await t.create('schedules', {
      apiVersion: `${group}/${version}`, kind: 'Schedule', metadata: { name: 'nightly' },
      spec: { schedule: '0 3 1 1 *', retention: { keepLast: 3 }, template: { storageLocation: 'main' } },
    });
    const states = new Map<string, Map<string, string>>();
    const packs = new Map<string, string[]>();
    for (let i = 1; i <= 5; i++) {
      await writeFile(join(dir, 'changing.txt'), `version ${i}\n`.repeat(1000 * i));
      states.set(`run-${i}`, await checksums(dir));
      await t.create('backups', {
        apiVersion: `${group}/${version}`, kind: 'Backup',
        metadata: { name: `run-${i}`, labels: { 'cairn.dev/schedule': 'nightly' }, annotations: { 'cairn.dev/scheduled-time': `2026-01-0${i}T03:00:00Z` } },
        spec: { storageLocation: 'main' },
      });
      const done = await t.waitPhase('backups', `run-${i}`, final);
      expect(done.status?.phase, JSON.stringify(done.status)).toBe('Completed');
      packs.set(`run-${i}`, await packsOf(`run-${i}`));
    }
    // run-1's pack holds the unchanged files every later run shares; run-2's own pack holds only
    // its version of changing.txt.
    const shared = packs.get('run-1')!.filter((p) => packs.get('run-5')!.includes(p));
    const onlyRun2 = packs.get('run-2')!.filter((p) => !['run-1', 'run-3', 'run-4', 'run-5'].some((b) => packs.get(b)!.includes(p)));
    expect(shared.length).toBeGreaterThan(0);
    expect(onlyRun2.length).toBeGreaterThan(0);

    await waitFor('retention to delete run-1 and run-2', async () => {
      const list = (await t.objects.listNamespacedCustomObject({ group, version, namespace: t.namespace, plural: 'backups' })) as { items: { metadata: { name: string } }[] };
      const names = list.items.map((b) => b.metadata.name).sort();
      return names.join() === 'run-3,run-4,run-5' ? names : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    const requests = (await t.objects.listNamespacedCustomObject({ group, version, namespace: t.namespace, plural: 'deletebackuprequests' })) as { items: { spec: { backupName: string }; status?: { phase?: string } }[] };
    expect(requests.items.map((r) => [r.spec.backupName, r.status?.phase]).sort()).toEqual([['run-1', 'Processed'], ['run-2', 'Processed']]);

    const left = await keys(`${t.namespace}/cairn/v1/`);
    expect(left.filter((k) => k.endsWith('/manifest.json'))).toEqual(['run-3', 'run-4', 'run-5'].map((b) => `${t.namespace}/cairn/v1/backups/${b}/manifest.json`));
    for (const p of shared) expect(left, 'a pack kept backups share').toContain(p);
    for (const p of onlyRun2) expect(left, 'a pack only run-2 referenced').not.toContain(p);

    for (const b of ['run-3', 'run-5']) {
      await t.restore(`from-${b}`, { backupName: b, targets: [{ volume: 'data', pvc: `copy-${b}` }] });
      expect((await t.waitPhase('restores', `from-${b}`, final)).status?.phase).toBe('Completed');
      expect(await checksums(await t.backingDir(`copy-${b}`))).toEqual(states.get(b));
    }
  });
});
