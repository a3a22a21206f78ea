// A real kube-controller-manager: PV/PVC binding (resynced every second), garbage collection,
// namespace deletion, service accounts and their tokens, node lifecycle.
import { join } from 'node:path';
import { binary } from './components.ts';
import { ManagedProcess } from './managed-process.ts';
import { freePort } from './ports.ts';
import type { KeyPair } from './pki.ts';
import { podCidr, serviceClusterIpRange } from './apiserver.ts';

export async function startControllerManager(runDir: string, kubeconfig: string, ca: KeyPair, serviceAccountKey: string): Promise<ManagedProcess> {
  const port = await freePort();
  return new ManagedProcess({
    name: 'kube-controller-manager',
    command: binary('kubernetes', 'kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1', `--secure-port=${port}`, '--leader-elect=false',
      `--service-account-private-key-file=${serviceAccountKey}`, `--root-ca-file=${ca.cert}`,
      `--cluster-signing-cert-file=${ca.cert}`, `--cluster-signing-key-file=${ca.key}`,
      '--use-service-account-credentials=false', '--pvclaimbinder-sync-period=1s',
      `--service-cluster-ip-range=${serviceClusterIpRange}`, `--cluster-cidr=${podCidr}`, '--allocate-node-cidrs=false',
      '--concurrent-gc-syncs=5', '--v=1',
    ],
    logFile: join(runDir, 'logs', 'kube-controller-manager.log'),
  });
}
