// The harness fails loudly, naming the component and why, when one is missing or will not start.
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binary, componentVersions } from './components.ts';
import { startCluster } from './cluster.ts';

const realCache = process.env.CAIRN_CACHE;
const realBinary = (c: Parameters<typeof binary>[0], name?: string) => binary(c, name);
let scratch: string[] = [];

afterEach(async () => {
  if (realCache === undefined) delete process.env.CAIRN_CACHE;
  else process.env.CAIRN_CACHE = realCache;
  for (const d of scratch) await rm(d, { recursive: true, force: true });
  scratch = [];
});

async function fakeCache(files: Record<string, string | { link: string }>): Promise<string> {
  const cache = await mkdtemp(join(tmpdir(), 'cairn-fake-cache-'));
  scratch.push(cache);
  const v = componentVersions();
  for (const [path, content] of Object.entries(files)) {
    const [component, bin] = path.split('/') as [keyof typeof v, string];
    const dir = join(cache, 'bin', `${component}-${v[component]}`);
    await mkdir(dir, { recursive: true });
    if (typeof content === 'string') {
      await writeFile(join(dir, bin), content);
      await chmod(join(dir, bin), 0o755);
    } else {
      await symlink(content.link, join(dir, bin));
    }
  }
  return cache;
}

const failing = (what: string) => `#!/bin/sh\necho "${what}: simulated startup failure" >&2\nexit 1\n`;

describe('harness start-up failures', () => {
  it('names every component that is not built and how to build it', async () => {
    process.env.CAIRN_CACHE = await fakeCache({ 'minio/minio': failing('minio') });
    const err = await startCluster({ runDir: await mkdtemp(join(tmpdir(), 'cairn-run-')) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CAIRN_E_COMPONENT_MISSING' });
    const message = (err as Error).message;
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl', 'mc']) expect(message).toContain(name);
    expect(message).not.toContain('minio/minio');
    expect(message).toContain('npm run build:components');
  });

  it('says which component failed to start and quotes its log', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'cairn-run-'));
    scratch.push(runDir);
    const real = {
      etcd: realBinary('etcd'), kubectl: realBinary('kubernetes', 'kubectl'), kcm: realBinary('kubernetes', 'kube-controller-manager'),
      minio: realBinary('minio'), mc: realBinary('mc'),
    };
    process.env.CAIRN_CACHE = await fakeCache({
      'etcd/etcd': { link: real.etcd },
      'kubernetes/kube-apiserver': failing('kube-apiserver'),
      'kubernetes/kube-controller-manager': { link: real.kcm },
      'kubernetes/kubectl': { link: real.kubectl },
      'minio/minio': { link: real.minio },
      'mc/mc': { link: real.mc },
    });
    const err = await startCluster({ runDir }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CAIRN_E_COMPONENT_EXITED' });
    expect((err as Error).message).toMatch(/kube-apiserver exited \(code 1/);
    expect((err as Error).message).toContain('kube-apiserver: simulated startup failure');
  });
});
