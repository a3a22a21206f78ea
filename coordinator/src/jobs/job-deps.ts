// What a Backup or Restore run needs from the coordinator: API clients, the agents, job slots,
// the location checks and the admin's policy. Built once in main.ts.
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from '../../../common/src/logger.ts';
import type { AgentDirectory } from '../agents/agent-directory.ts';
import type { LocationDeps } from '../location/validate-location.ts';
import type { AdminPolicy } from '../resolve/types.ts';
import type { NodeSlots } from './node-slots.ts';

export interface JobDeps {
  core: CoreV1Api;
  api: CustomObjectsApi;
  agents: AgentDirectory;
  slots: NodeSlots;
  location: LocationDeps;
  policy: AdminPolicy;
  /** UID of the cluster (the kube-system namespace's): the first half of every lineage. */
  clusterUid: string;
  adminNamespace: string;
  /** Volumes of one Backup or Restore moved at once. */
  volumesInParallel: number;
  helperImage?: string;
  /** How long a helper pod may take to be Running. */
  helperTimeoutMs: number;
  /** How often progress is written into status while a run lasts. */
  progressIntervalMs: number;
  logger: Logger;
}

/** Runs `fn` over `items` with at most `limit` at once; resolves when all settled. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
