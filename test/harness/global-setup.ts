// Vitest global setup of the integration project: one real cluster for the whole run.
// A component that is missing or fails to start fails the run with a message saying which.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startCluster, type ClusterInfo } from './cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(join(tmpdir(), 'cairn-test-'));
  const cluster = await startCluster({ runDir, log: (m) => console.log(`[cluster] ${m}`) });
  project.provide('cluster', cluster.info);
  return async () => {
    await cluster.stop();
    if (!process.env.CAIRN_KEEP_RUN) await rm(runDir, { recursive: true, force: true });
  };
}
