// The real coordinator process (coordinator/src/main.ts) against the local cluster, with the
// coordinator's own ServiceAccount (`cairn-coordinator` in the admin namespace, RBAC from
// manifests/rbac/coordinator.yaml), never the admin's credentials: what it may do in the API is
// exactly what the manifests grant it in a real cluster.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { podCidr, serviceClusterIpRange } from './apiserver.ts';
import type { ClusterInfo } from './cluster.ts';
import { HarnessError } from './errors.ts';
import { loadKubeconfig, writeKubeconfig } from './kubeconfig.ts';
import { ManagedProcess } from './managed-process.ts';
import { waitFor } from './wait.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
export const coordinatorServiceAccount = 'cairn-coordinator';
/** What the coordinator logs once its informers have synced. */
export const startedMessage = 'coordinator started';

export interface CoordinatorOptions {
  runDir: string;
  /** Namespace globs the coordinator watches; default `['team-*']`. */
  watchNamespaces?: string[];
  extraArgs?: string[];
  logLevel?: string;
  /** How long to wait for `coordinator started`; default 60 s. */
  startTimeoutMs?: number;
  /** Node.js flags for the coordinator process (e.g. a heap limit). */
  nodeArgs?: string[];
  /** The log message that means ready; default `coordinator started` (a standby logs `waiting for leadership`). */
  readyMessage?: string;
}

export interface RunningCoordinator {
  process: ManagedProcess;
  kubeconfig: string;
  logFile: string;
  stop(): Promise<void>;
}

/** A kubeconfig for the coordinator's ServiceAccount, with a token from the TokenRequest API. */
export async function coordinatorKubeconfig(info: ClusterInfo, path: string): Promise<string> {
  const core = loadKubeconfig(info.adminKubeconfig).makeApiClient(CoreV1Api);
  const res = await core.createNamespacedServiceAccountToken({
    name: coordinatorServiceAccount,
    namespace: info.adminNamespace,
    body: { spec: { expirationSeconds: 86_400, audiences: [] } },
  });
  const token = res.status?.token;
  if (!token) throw new HarnessError('CAIRN_E_HARNESS_TOKEN', `the TokenRequest for ServiceAccount ${info.adminNamespace}/${coordinatorServiceAccount} returned no token`);
  const user = `system:serviceaccount:${info.adminNamespace}:${coordinatorServiceAccount}`;
  await writeKubeconfig(path, info.apiServerUrl, info.caFile, user, { token });
  return path;
}

/** The coordinator's flags for this cluster, as an admin would set them for a real one. */
export function coordinatorArgs(info: ClusterInfo, o: { kubeconfig: string; watchNamespaces: string[]; logLevel: string }): string[] {
  const minio = new URL(info.minio.endpoint).host; // 127.0.0.1:port: loopback, so it must be allow-listed
  return [
    '--admin-namespace', info.adminNamespace,
    ...o.watchNamespaces.flatMap((ns) => ['--watch-namespace', ns]),
    '--allow-provisioner', info.csiDriver,
    '--allow-endpoint', minio,
    '--pod-cidr', podCidr,
    '--service-cidr', serviceClusterIpRange,
    '--cluster-uid', 'namespace:kube-system',
    '--tls-ca', info.agentPki.ca,
    '--tls-cert', info.agentPki.coordinator.cert,
    '--tls-key', info.agentPki.coordinator.key,
    '--agent-port', String(info.agentPort),
    '--kubeconfig', o.kubeconfig,
    '--log-level', o.logLevel,
  ];
}

/** True when `text` (pino NDJSON) has a line whose msg is `msg`; other lines are ignored. */
export function hasLogMessage(text: string, msg: string): boolean {
  for (const line of text.split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      if ((JSON.parse(line) as { msg?: unknown }).msg === msg) return true;
    } catch {
      // not a JSON line (a stack trace, say)
    }
  }
  return false;
}

export async function startCoordinator(info: ClusterInfo, o: CoordinatorOptions): Promise<RunningCoordinator> {
  await Promise.all([mkdir(join(o.runDir, 'kubeconfig'), { recursive: true }), mkdir(join(o.runDir, 'logs'), { recursive: true })]);
  const kubeconfig = await coordinatorKubeconfig(info, join(o.runDir, 'kubeconfig', 'coordinator.yaml'));
  const logFile = join(o.runDir, 'logs', 'coordinator.log');
  // The log is appended to: only what this run writes counts for readiness.
  const offset = await stat(logFile).then((s) => s.size, () => 0);
  const args = coordinatorArgs(info, { kubeconfig, watchNamespaces: o.watchNamespaces ?? ['team-*'], logLevel: o.logLevel ?? 'info' });
  const proc = new ManagedProcess({
    name: 'coordinator',
    command: process.execPath,
    args: [...(o.nodeArgs ?? []), join(repoRoot, 'coordinator', 'src', 'main.ts'), ...args, ...(o.extraArgs ?? [])],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logFile,
  });
  const stop = (): Promise<void> => proc.stop();
  try {
    const ready = o.readyMessage ?? startedMessage;
    await waitFor(`the coordinator to log "${ready}"`, async () => {
      proc.assertRunning();
      const text = await readFile(logFile).then((b) => b.subarray(offset).toString('utf8'), () => '');
      return hasLogMessage(text, ready);
    }, { timeoutMs: o.startTimeoutMs ?? 60_000, intervalMs: 200 });
  } catch (err) {
    await stop();
    if (err instanceof HarnessError && err.code === 'CAIRN_E_COMPONENT_EXITED') throw err;
    throw new HarnessError('CAIRN_E_COMPONENT_START', `coordinator did not start: ${(err as Error).message}\nlast log lines of ${logFile}:\n${proc.tail()}`, { cause: err });
  }
  return { process: proc, kubeconfig, logFile, stop };
}
