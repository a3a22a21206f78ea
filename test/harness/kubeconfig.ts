// Kubeconfig files for the admin and for each tenant user, and client-node configs from them.
import { writeFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

export type Credential = { token: string } | { cert: string; key: string };

export async function writeKubeconfig(path: string, server: string, caFile: string, user: string, cred: Credential): Promise<void> {
  const userEntry = 'token' in cred ? { token: cred.token } : { 'client-certificate': cred.cert, 'client-key': cred.key };
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cairn', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: user, context: { cluster: 'cairn', user } }],
    'current-context': user,
  };
  await writeFile(path, stringify(doc), { mode: 0o600 });
}

export function loadKubeconfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
