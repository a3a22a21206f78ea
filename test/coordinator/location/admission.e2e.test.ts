// The admission policies of manifests/admission/ on the real API server, as real tenant users:
// a BackupStorageLocation may only name Secrets its author can `get` (DESIGN 3.7), and only the
// admin namespace may name other namespaces in includedNamespaces (DESIGN 3.11). Each refusal
// beside a twin that is accepted.
import { AdmissionregistrationV1Api, AuthorizationV1Api, type V1ResourceAttributes } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubeAs } from '../../harness/clients.ts';
import { waitFor } from '../../harness/wait.ts';
import { mergePatch } from '../../harness/kube-errors.ts';
import { bslObject, Created, group, refused, unique, version } from './location-fixtures.ts';

const cluster = inject('cluster');
const created = new Created(cluster);
const ns = 'team-a';
const id = unique();
const hidden = `hidden-${id}`;
const readable = `readable-${id}`;
const viewer = 'team-a-viewer';
const bsls = 'backupstoragelocations';
const secretPolicy = "ValidatingAdmissionPolicy 'cairn-bsl-secret-access'";
const namespacesPolicy = "ValidatingAdmissionPolicy 'cairn-included-namespaces'";

async function untilAllowed(user: string, attrs: V1ResourceAttributes): Promise<void> {
  const authz = kubeAs(cluster, user).makeApiClient(AuthorizationV1Api);
  await waitFor(`${user} to be allowed ${attrs.verb} ${attrs.resource}/${attrs.name ?? ''}`, async () =>
    (await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attrs } } })).status?.allowed === true);
}

beforeAll(async () => {
  const creds = '[default]\naws_access_key_id = A\naws_secret_access_key = B\n';
  await created.secret(ns, hidden, { cloud: creds, key: Buffer.alloc(32, 1) });
  await created.secret(ns, readable, { cloud: creds, key: Buffer.alloc(32, 2) });
  // team-a-viewer (view: no Secrets, no BSL writes) is given BSL writes, and `get` on one Secret by name.
  await created.grant(ns, viewer, `bsl-writer-${id}`, [{ apiGroups: [group], resources: [bsls], verbs: ['create', 'update', 'patch'] }]);
  await created.grant(ns, viewer, `secret-reader-${id}`, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: [readable] }]);
  await untilAllowed(viewer, { group, resource: bsls, verb: 'create', namespace: ns });
  await untilAllowed(viewer, { group: '', resource: 'secrets', verb: 'get', namespace: ns, name: readable });
});

afterAll(() => created.cleanup());

describe('the policies', () => {
  it.each(['cairn-bsl-secret-access', 'cairn-included-namespaces'])('%s is installed, bound, and type-checks against the CRDs without warnings', async (name) => {
    const api = created.admin.makeApiClient(AdmissionregistrationV1Api);
    const policy = await waitFor(`${name} to be type-checked`, async () => {
      const p = await api.readValidatingAdmissionPolicy({ name });
      return p.status?.observedGeneration === p.metadata?.generation ? p : undefined;
    });
    expect(policy.status?.typeChecking?.expressionWarnings ?? []).toEqual([]);
    const binding = await api.readValidatingAdmissionPolicyBinding({ name });
    expect(binding.spec).toMatchObject({ policyName: name, validationActions: ['Deny'] });
    expect(binding.spec?.matchResources).toBeUndefined();
  });
});

describe('a BackupStorageLocation may only name Secrets its author can get', () => {
  it('the namespace admin names a Secret of its namespace: allowed', async () => {
    await created.create('team-a-admin', bsls, bslObject(`admin-${id}`, ns, { credential: { name: hidden, key: 'cloud' }, encryption: { keySecret: { name: hidden, key: 'key' } } }));
  });

  it('a user who may write BSLs but not read the Secret is refused naming the field, the user and the Secret; its twin naming a Secret it may get is allowed', async () => {
    const r = await refused(created.create(viewer, bsls, bslObject(`viewer-hidden-${id}`, ns, { credential: { name: hidden, key: 'cloud' } })));
    expect(r.code).toBe(403);
    expect(r.message).toContain(secretPolicy);
    expect(r.message).toContain(`spec.credential.name: ${viewer} may not get Secret "${hidden}" in namespace ${ns}; a BackupStorageLocation may only name a Secret its author can read`);

    await created.create(viewer, bsls, bslObject(`viewer-readable-${id}`, ns, { credential: { name: readable, key: 'cloud' } }));
  });

  it('the same for spec.encryption.keySecret', async () => {
    const r = await refused(created.create(viewer, bsls, bslObject(`viewer-key-${id}`, ns, {
      credential: { name: readable, key: 'cloud' }, encryption: { keySecret: { name: hidden, key: 'key' } },
    })));
    expect(r.code).toBe(403);
    expect(r.message).toContain(`spec.encryption.keySecret.name: ${viewer} may not get Secret "${hidden}" in namespace ${ns}`);
    expect(r.message).not.toContain('spec.credential.name');

    await created.create(viewer, bsls, bslObject(`viewer-key-ok-${id}`, ns, {
      credential: { name: readable, key: 'cloud' }, encryption: { keySecret: { name: readable, key: 'key' } },
    }));
  });

  it('a Secret that does not exist is judged by RBAC alone: the viewer may not name one, the admin may', async () => {
    const r = await refused(created.create(viewer, bsls, bslObject(`viewer-none-${id}`, ns, { credential: { name: `nothere-${id}`, key: 'cloud' } })));
    expect(r.message).toContain(`may not get Secret "nothere-${id}"`);
    await created.create('team-a-admin', bsls, bslObject(`admin-none-${id}`, ns, { credential: { name: `nothere-${id}`, key: 'cloud' } }));
  });

  it('a spec change by a user who cannot read the Secret is refused; a label change by the same user is not checked', async () => {
    const name = `admin-owned-${id}`;
    await created.create('team-a-admin', bsls, bslObject(name, ns, { credential: { name: hidden, key: 'cloud' } }));
    const api = created.objects(viewer);
    const r = await refused(api.patchNamespacedCustomObject({ group, version, namespace: ns, plural: bsls, name, body: { spec: { config: { endpoint: 'https://attacker.example.com' } } } }, mergePatch));
    expect(r.code).toBe(403);
    expect(r.message).toContain(`spec.credential.name: ${viewer} may not get Secret "${hidden}"`);

    await api.patchNamespacedCustomObject({ group, version, namespace: ns, plural: bsls, name, body: { metadata: { labels: { tier: 'gold' } } } }, mergePatch);
    // The admin, who can read the Secret, may change the spec.
    await created.objects('team-a-admin').patchNamespacedCustomObject({ group, version, namespace: ns, plural: bsls, name, body: { spec: { config: { endpoint: 'https://s3.other.example.com' } } } }, mergePatch);
  });

  it('the viewer switching its own BSL to a Secret it cannot read is refused', async () => {
    const name = `viewer-switch-${id}`;
    await created.create(viewer, bsls, bslObject(name, ns, { credential: { name: readable, key: 'cloud' } }));
    const r = await refused(created.objects(viewer).patchNamespacedCustomObject({ group, version, namespace: ns, plural: bsls, name, body: { spec: { credential: { name: hidden } } } }, mergePatch));
    expect(r.message).toContain(`may not get Secret "${hidden}"`);
  });

  it('another tenant gets 403 from RBAC before any policy runs', async () => {
    const r = await refused(created.create('team-b-admin', bsls, bslObject(`b-in-a-${id}`, ns, { credential: { name: hidden, key: 'cloud' } })));
    expect(r.code).toBe(403);
    expect(r.message).not.toContain(secretPolicy);
  });
});

describe('includedNamespaces only in the admin namespace', () => {
  const backup = (name: string, namespace: string, includedNamespaces?: string[]) => ({
    apiVersion: `${group}/${version}`, kind: 'Backup', metadata: { name, namespace },
    spec: { storageLocation: 'default', ...(includedNamespaces ? { includedNamespaces } : {}) },
  });
  const schedule = (name: string, namespace: string, includedNamespaces?: string[]) => ({
    apiVersion: `${group}/${version}`, kind: 'Schedule', metadata: { name, namespace },
    spec: { schedule: '0 2 * * *', paused: true, template: { storageLocation: 'default', ...(includedNamespaces ? { includedNamespaces } : {}) } },
  });

  it.each([[['team-b']], [['team-*']], [['*']], [['team-a', 'team-b']]])('a tenant Backup naming %j is refused', async (included) => {
    const r = await refused(created.create('team-a-admin', 'backups', backup(`inc-${unique()}`, ns, included)));
    expect(r.code).toBe(403);
    expect(r.message).toContain(namespacesPolicy);
    expect(r.message).toContain('spec.includedNamespaces: only a Backup in the admin namespace cairn-system may name other namespaces; in namespace team-a a Backup covers this namespace only');
  });

  it('twins: a tenant Backup without includedNamespaces, or naming only its own namespace, is allowed', async () => {
    await created.create('team-a-admin', 'backups', backup(`own-${id}`, ns, ['team-a']));
    await created.create('team-a-admin', 'backups', backup(`none-${id}`, ns));
  });

  it('the rule is about the namespace, not the user: even the cluster admin is refused in team-a and allowed in cairn-system', async () => {
    const r = await refused(created.create('admin', 'backups', backup(`admin-inc-${id}`, ns, ['team-b'])));
    expect(r.message).toContain(namespacesPolicy);
    await created.create('admin', 'backups', backup(`all-tenants-${id}`, cluster.adminNamespace, ['team-*', 'other']));
  });

  it('a Schedule template is held to the same rule', async () => {
    const r = await refused(created.create('team-a-admin', 'schedules', schedule(`sch-${id}`, ns, ['team-b'])));
    expect(r.code).toBe(403);
    expect(r.message).toContain('spec.template.includedNamespaces: only a Backup in the admin namespace cairn-system');
    await created.create('team-a-admin', 'schedules', schedule(`sch-own-${id}`, ns));
    await created.create('admin', 'schedules', schedule(`sch-admin-${id}`, cluster.adminNamespace, ['team-*']));
  });

  it('a Schedule whose template changes to name other namespaces is refused on update', async () => {
    const name = `sch-upd-${id}`;
    await created.create('team-a-admin', 'schedules', schedule(name, ns));
    const r = await refused(created.objects('team-a-admin').patchNamespacedCustomObject({
      group, version, namespace: ns, plural: 'schedules', name, body: { spec: { template: { includedNamespaces: ['team-b'] } } },
    }, mergePatch));
    expect(r.message).toContain(namespacesPolicy);
  });
});
