// ReadSecret over the Kubernetes API: a Secret by namespace and name (`get` only: the
// coordinator's RBAC has no list or watch on Secrets), undefined when it does not exist.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { ReadSecret } from './validate-location.ts';

export function secretReader(core: CoreV1Api): ReadSecret {
  return async (namespace, name) => {
    try {
      return await core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 404) return undefined;
      throw err;
    }
  };
}
