// Clients for tests: Kubernetes as a given user, S3 as a given tenant.
import { S3Client } from '@aws-sdk/client-s3';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterInfo } from './cluster.ts';
import { loadKubeconfig } from './kubeconfig.ts';

export function kubeAs(info: ClusterInfo, user: string): KubeConfig {
  if (user === 'admin') return loadKubeconfig(info.adminKubeconfig);
  const u = info.users[user];
  if (!u) throw new Error(`no user ${user} in the cluster (have: admin, ${Object.keys(info.users).join(', ')})`);
  return loadKubeconfig(u.kubeconfig);
}

export function s3As(info: ClusterInfo, tenant: string): S3Client {
  const t = info.minio.tenants[tenant];
  if (!t) throw new Error(`no tenant storage for ${tenant}`);
  return new S3Client({
    endpoint: info.minio.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
  });
}
