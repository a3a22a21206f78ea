// Real agent processes, one per simulated node, each on its node's own loopback address with its
// own certificate; the same binary and flags a DaemonSet pod runs.
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';
import { withLog } from './etcd.ts';
import type { AgentPki } from './pki.ts';
import type { SimNode } from './sim/nodes.ts';

export const repoRoot = join(import.meta.dirname, '..', '..');

export interface AgentEndpoint {
  node: string;
  address: string;
  logFile: string;
}

export interface AgentStartOptions {
  runDir: string;
  node: SimNode;
  pki: AgentPki;
  /** ip:port storage endpoints the agent may reach although they are loopback (MinIO). */
  allowEndpoints: string[];
  maxJobs?: number;
  extraArgs?: string[];
  name?: string;
  /** Listen on this port (the DaemonSet's); a free one when absent. */
  port?: number;
}

export async function startAgent(o: AgentStartOptions): Promise<{ endpoint: AgentEndpoint; process: ManagedProcess }> {
  const port = o.port ?? (await freePort(o.node.ip));
  const address = `${o.node.ip}:${port}`;
  const tls = o.pki.agents[o.node.name]!;
  const logFile = join(o.runDir, 'logs', `${o.name ?? `agent-${o.node.name}`}.log`);
  const proc = new ManagedProcess({
    name: o.name ?? `agent ${o.node.name}`,
    command: process.execPath,
    args: [
      join(repoRoot, 'agent', 'src', 'main.ts'), '--node-name', o.node.name, '--listen', address, '--kubelet-root', o.node.kubeletRoot,
      '--tls-ca', o.pki.ca, '--tls-cert', tls.cert, '--tls-key', tls.key, '--max-jobs', String(o.maxJobs ?? 2),
      ...o.allowEndpoints.flatMap((e) => ['--allow-endpoint', e]), '--log-level', 'debug', ...(o.extraArgs ?? []),
    ],
    // TMPDIR: the run's scratch folder (scratch-dir.ts), where the agent's compile cache goes.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}) },
    logFile,
  });
  await waitFor(`${proc.name} to listen on ${address}`, async () => {
    proc.assertRunning();
    const { readFile } = await import('node:fs/promises');
    return (await readFile(logFile, 'utf8').catch(() => '')).includes('agent serving');
  }, { timeoutMs: 30_000 }).catch((err: unknown) => { throw withLog(err, proc); });
  return { endpoint: { node: o.node.name, address, logFile }, process: proc };
}
