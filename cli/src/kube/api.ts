// The few API calls the commands make, behind an interface so that commands can be tested with a
// fake. The real one is client-node's CustomObjectsApi and CoreV1Api for the user's kubeconfig.
// Errors are client-node's as they come; commands turn them into CliErrors (api-errors.ts).
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURALS, VERSION, type CairnKind } from '../../../common/src/crds.ts';

/** An Event about an object, as `describe` shows it. */
export interface EventLine {
  type: string;
  reason: string;
  message: string;
  time?: string;
  count?: number;
}

export interface CairnApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** The kubeconfig user, for messages. */
  readonly user: string;
  get<T>(kind: CairnKind, namespace: string | undefined, name: string): Promise<T>;
  /** Objects of a namespace; `namespace` undefined: of every namespace (or of the cluster, for NodeAgent). */
  list<T>(kind: CairnKind, namespace: string | undefined): Promise<T[]>;
  create<T>(kind: CairnKind, namespace: string, body: object): Promise<T>;
  /** A full update with the object's resourceVersion (409 when it changed meanwhile). */
  replace<T>(kind: CairnKind, namespace: string, name: string, body: object): Promise<T>;
  /** Creates an Opaque Secret from string values. */
  createSecret(namespace: string, name: string, stringData: Record<string, string>, labels: Record<string, string>): Promise<void>;
  deleteSecret(namespace: string, name: string): Promise<void>;
  /** Whether the Secret exists; its data is never read. */
  secretExists(namespace: string, name: string): Promise<boolean>;
  /** Events about an object, oldest first; empty when they may not be read. */
  events(namespace: string, kind: CairnKind, name: string): Promise<EventLine[]>;
}

export function kubeApi(kc: KubeConfig): CairnApi {
  const objects = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const at = (kind: CairnKind) => ({ group: GROUP, version: VERSION, plural: PLURALS[kind] });
  return {
    server: kc.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)',
    user: kc.getCurrentUser()?.name ?? '(no user)',
    async get<T>(kind: CairnKind, namespace: string | undefined, name: string): Promise<T> {
      return (namespace === undefined
        ? await objects.getClusterCustomObject({ ...at(kind), name })
        : await objects.getNamespacedCustomObject({ ...at(kind), namespace, name })) as T;
    },
    async list<T>(kind: CairnKind, namespace: string | undefined): Promise<T[]> {
      const res = (namespace === undefined
        ? await objects.listClusterCustomObject({ ...at(kind) })
        : await objects.listNamespacedCustomObject({ ...at(kind), namespace })) as { items?: T[] };
      return res.items ?? [];
    },
    async create<T>(kind: CairnKind, namespace: string, body: object): Promise<T> {
      return (await objects.createNamespacedCustomObject({ ...at(kind), namespace, body })) as T;
    },
    async replace<T>(kind: CairnKind, namespace: string, name: string, body: object): Promise<T> {
      return (await objects.replaceNamespacedCustomObject({ ...at(kind), namespace, name, body })) as T;
    },
    async createSecret(namespace, name, stringData, labels): Promise<void> {
      await core.createNamespacedSecret({ namespace, body: { metadata: { name, labels }, type: 'Opaque', stringData } });
    },
    async deleteSecret(namespace, name): Promise<void> {
      await core.deleteNamespacedSecret({ namespace, name });
    },
    async secretExists(namespace, name): Promise<boolean> {
      try {
        await core.readNamespacedSecret({ namespace, name });
        return true;
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return false;
        throw err;
      }
    },
    async events(namespace, kind, name): Promise<EventLine[]> {
      try {
        const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
        return list.items
          .map((e) => {
            const time = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp;
            const line: EventLine = { type: e.type ?? 'Normal', reason: e.reason ?? '', message: e.message ?? '', count: e.series?.count ?? e.count ?? 1 };
            if (time !== undefined) line.time = new Date(time).toISOString();
            return line;
          })
          .sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
      } catch {
        return [];
      }
    },
  };
}
