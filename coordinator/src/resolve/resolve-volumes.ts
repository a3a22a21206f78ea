// resolveVolumes: reads the namespace's PVCs and pods and every PV from the API server (paged
// lists) and resolves each PVC to a verified mount, a helper-pod request, an exclusion or a
// refusal (resolve-snapshot.ts). API failures are CairnErrors naming the list that failed.
import type { CoreV1Api, V1ListMeta } from '@kubernetes/client-node';
import { CairnError } from '../../../common/src/errors.ts';
import { resolveSnapshot, type ApiSnapshot } from './resolve-snapshot.ts';
import type { ResolvedVolume, ResolveOptions } from './types.ts';

const pageSize = 500;

async function listAll<T>(what: string, page: (cont: string | undefined) => Promise<{ items: T[]; metadata?: V1ListMeta }>, signal?: AbortSignal): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    signal?.throwIfAborted();
    let res: { items: T[]; metadata?: V1ListMeta };
    try {
      res = await page(cont);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new CairnError('CAIRN_E_INTERNAL', `listing ${what} failed${typeof code === 'number' ? ` (HTTP ${code})` : ''}`, { cause: err });
    }
    items.push(...res.items);
    cont = res.metadata?._continue || undefined;
  } while (cont);
  return items;
}

/** Reads the API state the resolver needs: the namespace's PVCs and pods, and all PVs. */
export async function readSnapshot(core: CoreV1Api, namespace: string, signal?: AbortSignal): Promise<ApiSnapshot> {
  const pvcs = await listAll(`PersistentVolumeClaims in ${namespace}`, (c) => core.listNamespacedPersistentVolumeClaim({ namespace, limit: pageSize, _continue: c }), signal);
  const pods = await listAll(`Pods in ${namespace}`, (c) => core.listNamespacedPod({ namespace, limit: pageSize, _continue: c }), signal);
  // All PVs: a PV of another namespace with the same backing storage refuses ours.
  const pvs = await listAll('PersistentVolumes', (c) => core.listPersistentVolume({ limit: pageSize, _continue: c }), signal);
  return { pvcs, pods, pvs };
}

/** Every PVC of `opts.namespace` as a verified mount, a helper-pod request, an exclusion or a refusal. */
export async function resolveVolumes(core: CoreV1Api, opts: ResolveOptions): Promise<ResolvedVolume[]> {
  const snapshot = await readSnapshot(core, opts.namespace, opts.signal);
  opts.signal?.throwIfAborted();
  return resolveSnapshot(snapshot, opts);
}
