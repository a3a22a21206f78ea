// Where the real components (etcd, Kubernetes, MinIO, mc) live once built, and a clear
// failure naming the component and the fix when one is missing.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { HarnessError } from './errors.ts';

const here = import.meta.dirname;
export const buildScript = join(here, 'build', 'build-components.sh');

export type Component = 'etcd' | 'kubernetes' | 'minio' | 'mc' | 'kopia';

const versionKeys: Record<Component, string> = {
  etcd: 'ETCD_VERSION',
  kubernetes: 'KUBERNETES_VERSION',
  minio: 'MINIO_VERSION',
  mc: 'MC_VERSION',
  kopia: 'KOPIA_VERSION',
};

export function cacheDir(): string {
  return process.env.CAIRN_CACHE ?? join(homedir(), '.cache', 'cairn');
}

export function componentVersions(): Record<Component, string> {
  const text = readFileSync(join(here, 'build', 'components.env'), 'utf8');
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(\S+)\s*$/.exec(line);
    if (m) vars.set(m[1]!, m[2]!);
  }
  const out = {} as Record<Component, string>;
  for (const [c, key] of Object.entries(versionKeys) as [Component, string][]) {
    const v = vars.get(key);
    if (!v) throw new HarnessError('CAIRN_E_HARNESS_CONFIG', `components.env has no ${key}`);
    out[c] = v;
  }
  return out;
}

/** Absolute path of a built binary; throws naming the component when it is not built. */
export function binary(component: Component, name: string = component): string {
  const version = componentVersions()[component];
  const path = join(cacheDir(), 'bin', `${component}-${version}`, name);
  if (!existsSync(path)) {
    throw new HarnessError(
      'CAIRN_E_COMPONENT_MISSING',
      `${component} ${version} is not built: ${path} does not exist. Build it with 'npm run build:components -- ${component}' (needs Go and the Go module proxy).`,
    );
  }
  return path;
}

/** Builds the components that are missing, streaming the build's progress to stderr. */
export async function ensureBuilt(components: Component[], signal?: AbortSignal): Promise<void> {
  const child = spawn('bash', [buildScript, ...components], { stdio: ['ignore', 'inherit', 'inherit'], signal });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) {
    throw new HarnessError('CAIRN_E_COMPONENT_BUILD', `building ${components.join(', ')} failed (exit ${code}); see the log named above`);
  }
}
