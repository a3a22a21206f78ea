// Shared pieces of the engine suites: a store per test (unique prefix in the tenant's bucket),
// scratch directories, and a digest of a directory tree to compare source and restore.
import { createHash, randomUUID } from 'node:crypto';
import { lstat, mkdtemp, readFile, readdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createS3Store, type ObjectStore } from '../../common/src/store/object-store.ts';
import { Secret } from '../../common/src/secret.ts';
import type { ClusterInfo } from '../harness/cluster.ts';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { listAttributesSync(p: string): string[]; getAttributeSync(p: string, n: string): Buffer };

export function tenantStore(cluster: ClusterInfo, tenant = 'team-a', prefix = `engine/${randomUUID()}`): ObjectStore {
  const t = cluster.minio.tenants[tenant]!;
  return createS3Store({
    endpoint: cluster.minio.endpoint, bucket: t.bucket, prefix, region: 'us-east-1', forcePathStyle: true,
    credentials: new Secret({ accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey }),
  });
}

export const scratch = (name: string): Promise<string> => mkdtemp(join(tmpdir(), `cairn-${name}-`));

export interface NodeDigest {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs?: number;
  sha256?: string;
  link?: string;
  ino?: number;
  xattrs?: Record<string, string>;
}

/** Every entry below `root` (names as latin1 so non-UTF-8 bytes survive), with content hashes. */
export async function digestTree(root: string, o: { mtimes?: boolean; xattrs?: boolean } = {}): Promise<Map<string, NodeDigest>> {
  const out = new Map<string, NodeDigest>();
  const visit = async (abs: Buffer, rel: string): Promise<void> => {
    const st = await lstat(abs);
    const d: NodeDigest = { type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.isFile() ? st.size : 0 };
    if (o.mtimes && !st.isDirectory()) d.mtimeMs = Math.round(st.mtimeMs);
    if (st.isFile()) d.sha256 = createHash('sha256').update(await readFile(abs)).digest('hex');
    if (st.isSymbolicLink()) d.link = (await readlink(abs, { encoding: 'buffer' })).toString('latin1');
    if (st.isFile() && st.nlink > 1) d.ino = st.nlink;
    // fs-xattr takes string paths: only names that are valid UTF-8 are looked at.
    if (o.xattrs && !st.isSymbolicLink() && Buffer.from(abs.toString()).equals(abs)) {
      const names = xattr.listAttributesSync(abs.toString()).sort();
      if (names.length > 0) d.xattrs = Object.fromEntries(names.map((n) => [n, xattr.getAttributeSync(abs.toString(), n).toString('hex')]));
    }
    out.set(rel, d);
    if (st.isDirectory()) {
      for (const name of (await readdir(abs, { encoding: 'buffer' })).sort((a, b) => Buffer.compare(a, b))) {
        await visit(Buffer.concat([abs, Buffer.from('/'), name]), rel === '' ? name.toString('latin1') : `${rel}/${name.toString('latin1')}`);
      }
    }
  };
  await visit(Buffer.from(root), '');
  return out;
}

/** Unfinished multipart uploads in the store (there must be none after any backup). */
export async function multipartUploads(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const u of store.listMultipartUploads('')) out.push(u.key);
  return out;
}

export async function keys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

export const lineage = { clusterUid: 'cluster-1', pvcUid: 'pvc-1' };
export const newKey = (): Secret<Buffer> => new Secret(createHash('sha256').update(randomUUID()).digest());
