// Credentials never leak (issue 7, attack 7): a tenant's secret access key and its client-side
// encryption key, used for a real backup and restore through the real coordinator (at debug log
// level) and agents, appear in no coordinator or agent log, no CR (spec or status), no Event,
// and no process's argv or environment on the machine.
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubeAs } from '../harness/clients.ts';
import type { RunningCoordinator } from '../harness/coordinator.ts';
import { checksums, group, isolatedCoordinator, Tenant, unique, version, writeTree } from '../coordinator/e2e/tenant-fixtures.ts';

const cluster = inject('cluster');
const u = unique();
const t = new Tenant(cluster, `sk${u}-a`, 'team-a-admin', 'team-a');
const secretKey = cluster.minio.tenants['team-a']!.secretAccessKey;
const encryptionKey = randomBytes(32);
const canaries = { 'secret access key': secretKey, 'encryption key (base64)': encryptionKey.toString('base64'), 'encryption key (hex)': encryptionKey.toString('hex') };
const final = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];
let coordinator: RunningCoordinator;

function leaks(where: string, text: string): string[] {
  return Object.entries(canaries).filter(([, v]) => text.includes(v)).map(([k]) => `${k} in ${where}`);
}

beforeAll(async () => {
  await t.setUp();
  coordinator = await isolatedCoordinator(cluster, `sk${u}`, 1, { extraArgs: ['--log-level', 'debug'] });
  const dir = await t.pvc('data');
  await writeTree(dir, 'canary', 10);
  await t.pod('app', 'data', 'node-1');
  await t.core.createNamespacedSecret({ namespace: t.namespace, body: { metadata: { name: 'key' }, stringData: { key: encryptionKey.toString('base64') } } });
  await t.location('main'); // creates the credential Secret
  // An encrypted location over the same bucket, as the tenant.
  const main = await t.get('backupstoragelocations', 'main');
  await t.create('backupstoragelocations', {
    apiVersion: `${group}/${version}`, kind: 'BackupStorageLocation', metadata: { name: 'sealed' },
    spec: { ...main.spec, objectStorage: { bucket: cluster.minio.tenants['team-a']!.bucket, prefix: `${t.namespace}-sealed` }, encryption: { keySecret: { name: 'key', key: 'key' } } },
  });
  await t.waitPhase('backupstoragelocations', 'sealed', ['Available']);
  await t.backup('first', { storageLocation: 'sealed' });
  expect((await t.waitPhase('backups', 'first', final)).status?.phase).toBe('Completed');
  await t.restore('back', { backupName: 'first', targets: [{ volume: 'data', pvc: 'copy' }] });
  expect((await t.waitPhase('restores', 'back', final)).status?.phase).toBe('Completed');
  expect(await checksums(await t.backingDir('copy'))).toEqual(await checksums(dir));
  // A location whose credentials are refused: its failure message must not carry them either.
  await t.location('wrong', { secret: 'wrong-credentials', storage: 'team-b' });
  await t.waitPhase('backupstoragelocations', 'wrong', ['Available', 'Unavailable']);
}, 240_000);

afterAll(async () => {
  await coordinator?.stop();
});

describe('credentials never leak', () => {
  it('twin: the canaries are really in the tenant Secrets (so the checks below can fail)', async () => {
    const secrets = await kubeAs(cluster, 'admin').makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: t.namespace });
    const text = secrets.items.map((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString()).join('\n')).join('\n');
    expect(leaks('Secrets', text).sort()).toEqual(['encryption key (base64) in Secrets', 'secret access key in Secrets']);
  });

  it('not in the coordinator log (debug level) nor any agent log', async () => {
    const found = leaks('coordinator log', await readFile(coordinator.logFile, 'utf8'));
    expect((await readFile(coordinator.logFile, 'utf8')).length).toBeGreaterThan(1000);
    for (const a of cluster.agents) found.push(...leaks(`agent log ${a.node}`, await readFile(a.logFile, 'utf8')));
    expect(found).toEqual([]);
  });

  it('not in any Cairn CR of the namespace, spec or status, nor in its Events', async () => {
    const api = kubeAs(cluster, 'admin').makeApiClient(CustomObjectsApi);
    const found: string[] = [];
    for (const plural of ['backupstoragelocations', 'backups', 'restores']) {
      const list: unknown = await api.listNamespacedCustomObject({ group, version, namespace: t.namespace, plural });
      found.push(...leaks(plural, JSON.stringify(list)));
    }
    const events = await kubeAs(cluster, 'admin').makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: t.namespace });
    expect(events.items.length).toBeGreaterThan(0);
    found.push(...leaks('Events', JSON.stringify(events)));
    expect(found).toEqual([]);
  });

  it("not in any process's argv or environment", async () => {
    const found: string[] = [];
    let seen = 0;
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      for (const f of ['cmdline', 'environ']) {
        const text = await readFile(`/proc/${pid}/${f}`).then((b) => b.toString('latin1'), () => undefined);
        if (text === undefined) continue;
        seen++;
        found.push(...leaks(`/proc/${pid}/${f}`, text));
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(found).toEqual([]);
  });
});
