// A real kube-apiserver: RBAC and Node authorization on, ServiceAccount token signing, serving
// certs from the cluster CA, token users for the tenants, certificate user for the admin.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { binary } from './components.ts';
import { ManagedProcess } from './managed-process.ts';
import { freePort } from './ports.ts';
import { httpGet } from './http-probe.ts';
import { waitFor } from './wait.ts';
import { withLog } from './etcd.ts';
import type { KeyPair } from './pki.ts';

export const serviceClusterIpRange = '10.96.0.0/16';
export const podCidr = '10.244.0.0/16';

export interface TokenUser {
  name: string;
  token: string;
  groups: string[];
}

export interface ApiServer {
  url: string;
  port: number;
  process: ManagedProcess;
}

export interface ApiServerOptions {
  runDir: string;
  etcdUrl: string;
  ca: KeyPair;
  serving: KeyPair;
  admin: KeyPair;
  serviceAccount: { privateKey: string; publicKey: string };
  users: TokenUser[];
  extraArgs?: string[];
}

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const port = await freePort();
  const tokenFile = join(o.runDir, 'pki', 'tokens.csv');
  await writeFile(tokenFile, o.users.map((u) => `${u.token},${u.name},${u.name},"${u.groups.join(',')}"`).join('\n') + '\n', { mode: 0o600 });
  const proc = new ManagedProcess({
    name: 'kube-apiserver',
    command: binary('kubernetes', 'kube-apiserver'),
    args: [
      `--etcd-servers=${o.etcdUrl}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${port}`,
      `--tls-cert-file=${o.serving.cert}`, `--tls-private-key-file=${o.serving.key}`,
      `--client-ca-file=${o.ca.cert}`, `--token-auth-file=${tokenFile}`,
      '--authorization-mode=Node,RBAC', '--anonymous-auth=false',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${o.serviceAccount.publicKey}`,
      `--service-account-signing-key-file=${o.serviceAccount.privateKey}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--allow-privileged=true', '--endpoint-reconciler-type=none',
      `--cert-dir=${join(o.runDir, 'pki', 'apiserver')}`,
      '--enable-priority-and-fairness=false', '--profiling=false', '--v=1',
      ...(o.extraArgs ?? []),
    ],
    logFile: join(o.runDir, 'logs', 'kube-apiserver.log'),
  });
  const url = `https://127.0.0.1:${port}`;
  await waitFor('kube-apiserver /readyz', async () => {
    proc.assertRunning();
    const r = await httpGet(`${url}/readyz`, { ca: o.ca.cert, cert: o.admin.cert, key: o.admin.key });
    return r.status === 200;
  }, { timeoutMs: 90_000, intervalMs: 300 }).catch((err: unknown) => { throw withLog(err, proc); });
  return { url, port, process: proc };
}
