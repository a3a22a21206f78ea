// Shared pieces of the controller-runtime suites: namespaces of their own (so the suites never
// see another suite's objects), a Backup builder, and an event log to wait on.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, GROUP, PLURALS, VERSION, type Backup } from '../../../common/src/crds.ts';
import { cairnResource } from '../../../coordinator/src/runtime/resources.ts';
import { isNotFound, mergePatch } from '../../harness/kube-errors.ts';
import { waitFor } from '../../harness/wait.ts';

export const backupsResource = cairnResource('Backup');

export const unique = (): string => randomBytes(3).toString('hex');

export function backup(name: string, namespace: string, labels: Record<string, string> = {}): Backup {
  return { apiVersion: API_VERSION, kind: 'Backup', metadata: { name, namespace, labels }, spec: { storageLocation: 'default' } };
}

/** Typed access to Backups as some user (the admin in these suites). */
export class Backups {
  readonly api: CustomObjectsApi;
  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async create(b: Backup): Promise<Backup> {
    return (await this.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace: b.metadata.namespace!, body: b })) as Backup;
  }

  async get(namespace: string, name: string): Promise<Backup> {
    return (await this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace, name })) as Backup;
  }

  async label(namespace: string, name: string, labels: Record<string, string>): Promise<Backup> {
    return (await this.api.patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace, name, body: { metadata: { labels } } }, mergePatch)) as Backup;
  }

  async patchStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<Backup> {
    return (await this.api.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace, name, body: { status } }, mergePatch)) as Backup;
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async waitGone(namespace: string, name: string): Promise<void> {
    await waitFor(`Backup ${namespace}/${name} to be gone`, async () => {
      try {
        await this.get(namespace, name);
        return false;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    });
  }
}

export { createNamespaces } from '../../harness/cluster.ts';

export async function deleteNamespaces(kc: KubeConfig, names: string[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of names) {
    try {
      await core.deleteNamespace({ name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export interface SeenEvent {
  type: 'add' | 'update' | 'delete';
  key: string;
  labels: Record<string, string>;
}

/** Records an informer's events; `waitFor` polls until one matches. */
export class EventLog {
  readonly events: SeenEvent[] = [];

  push(type: SeenEvent['type'], obj: { metadata?: { namespace?: string; name?: string; labels?: Record<string, string> } }): void {
    this.events.push({ type, key: `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`, labels: { ...obj.metadata?.labels } });
  }

  of(key: string): SeenEvent[] {
    return this.events.filter((e) => e.key === key);
  }

  async waitFor(what: string, pred: (e: SeenEvent) => boolean, timeoutMs = 20_000): Promise<SeenEvent> {
    return waitFor(`informer event: ${what}`, () => this.events.find(pred), { timeoutMs, intervalMs: 50 });
  }
}
