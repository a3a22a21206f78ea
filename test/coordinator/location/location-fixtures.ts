// Helpers for the BackupStorageLocation suites: objects as a given user, refusals with their
// status and message, Secrets in the credential formats, the cluster's endpoint policy.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig, type V1PolicyRule } from '@kubernetes/client-node';
import type { BackupStorageLocation } from '../../../common/src/generated/crds.ts';
import type { AddressPolicy } from '../../../common/src/net/address-policy.ts';
import { kubeAs } from '../../harness/clients.ts';
import type { ClusterInfo } from '../../harness/cluster.ts';
import { podCidr, serviceClusterIpRange } from '../../harness/apiserver.ts';
import { isNotFound, statusCode } from '../../harness/kube-errors.ts';

export const group = 'cairn.dev';
export const version = 'v1alpha1';

export function unique(): string {
  return randomBytes(3).toString('hex');
}

/** The endpoint policy of the test cluster: its service and pod ranges refused, plus `allow`. */
export function clusterPolicy(allow: string[] = []): AddressPolicy {
  return { allow: new Set(allow), refusedCidrs: [serviceClusterIpRange, podCidr] };
}

export function credentialsFile(accessKeyId: string, secretAccessKey: string): string {
  return `[default]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n`;
}

export function bslObject(name: string, namespace: string, spec: Partial<BackupStorageLocation['spec']> & { credential: { name: string; key: string } }): BackupStorageLocation {
  return {
    apiVersion: `${group}/${version}`, kind: 'BackupStorageLocation', metadata: { name, namespace },
    spec: { objectStorage: { bucket: namespace }, config: { region: 'us-east-1', forcePathStyle: true, endpoint: 'https://s3.example.com' }, ...spec },
  };
}

export interface Refusal {
  code: number | undefined;
  message: string;
}

/** The status and the API server's message of a refused request; fails when it succeeded. */
export async function refused(p: Promise<unknown>): Promise<Refusal> {
  try {
    await p;
  } catch (err) {
    const body = (err as { body?: unknown }).body;
    let message = String(body);
    try {
      message = (JSON.parse(String(body)) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    return { code: statusCode(err), message };
  }
  throw new Error('expected the request to be refused, but it succeeded');
}

/** Objects created by a suite, deleted (as admin) at the end. */
export class Created {
  readonly #items: (() => Promise<unknown>)[] = [];
  readonly admin: KubeConfig;
  readonly cluster: ClusterInfo;
  constructor(cluster: ClusterInfo) {
    this.cluster = cluster;
    this.admin = kubeAs(cluster, 'admin');
  }

  objects(user: string): CustomObjectsApi {
    return kubeAs(this.cluster, user).makeApiClient(CustomObjectsApi);
  }

  async create(user: string, plural: string, body: { metadata?: { name?: string; namespace?: string } }): Promise<unknown> {
    const namespace = body.metadata!.namespace!;
    const name = body.metadata!.name!;
    const res: unknown = await this.objects(user).createNamespacedCustomObject({ group, version, namespace, plural, body });
    this.#items.push(() => this.objects('admin').deleteNamespacedCustomObject({ group, version, namespace, plural, name }));
    return res;
  }

  async secret(namespace: string, name: string, data: Record<string, string | Buffer>): Promise<void> {
    const core = this.admin.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name, namespace }, type: 'Opaque', data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) },
    });
    this.#items.push(() => core.deleteNamespacedSecret({ namespace, name }));
  }

  /** A Role with `rules` in `namespace`, bound to `user`. */
  async grant(namespace: string, user: string, name: string, rules: V1PolicyRule[]): Promise<void> {
    const rbac = this.admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name, namespace }, rules } });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    });
    this.#items.push(() => rbac.deleteNamespacedRoleBinding({ namespace, name }), () => rbac.deleteNamespacedRole({ namespace, name }));
  }

  async cleanup(): Promise<void> {
    for (const del of this.#items.reverse()) {
      try {
        await del();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
}
