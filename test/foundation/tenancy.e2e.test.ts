// Cairn's CRDs and tenant roles on a real API server with RBAC: namespace admins use Cairn in
// their namespace only, viewers read, and malformed objects are refused naming the field.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { kubeAs } from '../harness/clients.ts';
import { statusCode } from '../harness/kube-errors.ts';

const cluster = inject('cluster');
const group = 'cairn.dev';
const version = 'v1alpha1';
const plural = 'backups';

function backup(name: string, namespace: string, spec: Record<string, unknown> = {}): object {
  return { apiVersion: `${group}/${version}`, kind: 'Backup', metadata: { name, namespace }, spec: { storageLocation: 'default', ttl: '720h', ...spec } };
}

function objects(user: string): CustomObjectsApi {
  return kubeAs(cluster, user).makeApiClient(CustomObjectsApi);
}

async function failure(p: Promise<unknown>): Promise<{ code: number | undefined; body: string }> {
  try {
    await p;
  } catch (err) {
    return { code: statusCode(err), body: String((err as { body?: unknown }).body) };
  }
  throw new Error('expected the request to be refused, but it succeeded');
}

describe('tenant RBAC for Cairn resources', () => {
  it('a namespace admin creates a Backup in its namespace and gets 403 in another', async () => {
    const alice = objects('team-a-admin');
    await alice.createNamespacedCustomObject({ group, version, namespace: 'team-a', plural, body: backup('alice-1', 'team-a') });
    const got = (await alice.getNamespacedCustomObject({ group, version, namespace: 'team-a', plural, name: 'alice-1' })) as { spec: { ttl: string } };
    expect(got.spec.ttl).toBe('720h');

    const create = await failure(alice.createNamespacedCustomObject({ group, version, namespace: 'team-b', plural, body: backup('alice-in-b', 'team-b') }));
    expect(create.code).toBe(403);
    await objects('team-b-admin').createNamespacedCustomObject({ group, version, namespace: 'team-b', plural, body: backup('bob-1', 'team-b') });
    const read = await failure(alice.getNamespacedCustomObject({ group, version, namespace: 'team-b', plural, name: 'bob-1' }));
    expect(read.code).toBe(403);
    const list = await failure(alice.listNamespacedCustomObject({ group, version, namespace: 'team-b', plural }));
    expect(list.code).toBe(403);
  });

  it('a viewer reads Backups in its namespace but cannot create one', async () => {
    await objects('team-a-admin').createNamespacedCustomObject({ group, version, namespace: 'team-a', plural, body: backup('for-viewer', 'team-a') });
    const viewer = objects('team-a-viewer');
    const got = (await viewer.getNamespacedCustomObject({ group, version, namespace: 'team-a', plural, name: 'for-viewer' })) as { metadata: { name: string } };
    expect(got.metadata.name).toBe('for-viewer');
    const create = await failure(viewer.createNamespacedCustomObject({ group, version, namespace: 'team-a', plural, body: backup('viewer-1', 'team-a') }));
    expect(create.code).toBe(403);
  });
});

describe('Backup validation by the API server', () => {
  const alice = () => objects('team-a-admin');

  it('refuses a ttl that is not a duration, naming spec.ttl', async () => {
    const r = await failure(alice().createNamespacedCustomObject({ group, version, namespace: 'team-a', plural, body: backup('bad-ttl', 'team-a', { ttl: '3 days' }) }));
    expect(r.code).toBe(422);
    expect(r.body).toContain('spec.ttl');
  });

  it('refuses a storageLocation that is not a DNS-1123 name, naming spec.storageLocation', async () => {
    const r = await failure(alice().createNamespacedCustomObject({ group, version, namespace: 'team-a', plural, body: backup('bad-ref', 'team-a', { storageLocation: 'Team_A/../b' }) }));
    expect(r.code).toBe(422);
    expect(r.body).toContain('spec.storageLocation');
  });

  it('accepts a well-formed Backup', async () => {
    const ok = (await alice().createNamespacedCustomObject({ group, version, namespace: 'team-a', plural, body: backup('good', 'team-a', { ttl: '1h30m', storageLocation: 'primary' }) })) as { metadata: { uid: string } };
    expect(ok.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });
});
