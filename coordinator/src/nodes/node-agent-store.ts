// The NodeAgent objects in the API: one per node, named after it, created by the coordinator on
// the first status it writes and labelled with the coordinator's admin namespace, so that a
// coordinator deletes only the NodeAgents it made (two installations in one cluster, or the test
// suites' coordinators, each keep their hands off the others').
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { API_VERSION, GROUP, PLURALS, VERSION, type NodeAgent, type NodeAgentStatus } from '../../../common/src/crds.ts';
import { isCairnError } from '../../../common/src/errors.ts';
import { updateStatusWithRetry, type StatusApi } from '../runtime/status-writer.ts';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_ADMIN_NAMESPACE = 'cairn.dev/admin-namespace';

export interface NodeAgentStore {
  /** Writes the status `mutate` makes of the stored one, creating the NodeAgent when missing. */
  writeStatus(node: string, mutate: (current: NodeAgentStatus) => NodeAgentStatus, signal?: AbortSignal): Promise<NodeAgent>;
  /** Names of the NodeAgents this coordinator created. */
  listOwned(): Promise<string[]>;
  /** Deletes a NodeAgent this coordinator created; gone already is fine. */
  delete(node: string): Promise<void>;
}

type Api = StatusApi & Pick<CustomObjectsApi, 'createClusterCustomObject' | 'listClusterCustomObject' | 'deleteClusterCustomObject'>;

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function nodeAgentStore(api: Api, adminNamespace: string): NodeAgentStore {
  const target = { group: GROUP, version: VERSION, plural: PLURALS.NodeAgent };
  const selector = `${LABEL_ADMIN_NAMESPACE}=${adminNamespace}`;
  const create = async (node: string): Promise<void> => {
    const body: NodeAgent = {
      apiVersion: API_VERSION, kind: 'NodeAgent',
      metadata: { name: node, labels: { [LABEL_MANAGED_BY]: 'cairn-coordinator', [LABEL_ADMIN_NAMESPACE]: adminNamespace } },
      spec: { nodeName: node },
    };
    try {
      await api.createClusterCustomObject({ ...target, body });
    } catch (err) {
      if (httpCode(err) !== 409) throw err;
    }
  };
  const update = async (node: string, mutate: (s: NodeAgentStatus) => NodeAgentStatus, signal?: AbortSignal): Promise<NodeAgent> =>
    (await updateStatusWithRetry(api, { kind: 'NodeAgent', name: node }, (s) => mutate(s), signal ? { signal } : {})).object;
  return {
    async writeStatus(node, mutate, signal) {
      try {
        return await update(node, mutate, signal);
      } catch (err) {
        if (!isCairnError(err, 'CAIRN_E_NOT_FOUND')) throw err;
        await create(node);
        return update(node, mutate, signal);
      }
    },
    async listOwned() {
      const list = (await api.listClusterCustomObject({ ...target, labelSelector: selector })) as { items?: NodeAgent[] };
      return (list.items ?? []).map((n) => n.metadata.name!).filter(Boolean);
    },
    async delete(node) {
      try {
        await api.deleteClusterCustomObject({ ...target, name: node });
      } catch (err) {
        if (httpCode(err) !== 404) throw err;
      }
    },
  };
}
