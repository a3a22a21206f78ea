// Rendering and applying Cairn's kustomizations with the real kubectl of the local cluster
// (kubectl kustomize, kubectl apply --dry-run=server), and small readers of what they render.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { binary } from '../harness/components.ts';

export const repoRoot = join(import.meta.dirname, '..', '..');

/** The kustomizations Cairn ships, relative to the repository. */
export const kustomizations = {
  base: 'manifests',
  install: 'manifests/install',
  certManager: 'manifests/overlays/cert-manager',
} as const;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with `input` on stdin; never throws for a non-zero exit. */
export function run(command: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export function kubectlPath(): string {
  return binary('kubernetes', 'kubectl');
}

/** `kubectl kustomize DIR`, parsed; fails naming the directory and kubectl's message. */
export async function render(dir: string): Promise<KubeObject[]> {
  const r = await run(kubectlPath(), ['kustomize', join(repoRoot, dir)]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseDocs(r.stdout);
}

export function parseDocs(text: string): KubeObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
}

export function toYaml(objects: KubeObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n---\n');
}

/**
 * `kubectl apply --server-side --dry-run=server` of the objects, as the admin. Returns the objects
 * as the API server would have stored them (defaults and admission applied), or throws with
 * kubectl's message.
 */
export async function dryRunApply(kubeconfig: string, objects: KubeObject[]): Promise<KubeObject[]> {
  const r = await run(kubectlPath(), ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--dry-run=server', '-o', 'json', '-f', '-'], { input: toYaml(objects) });
  if (r.code !== 0) throw new Error(`kubectl apply --dry-run=server failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as KubeObject & { items?: KubeObject[] };
  return out.kind === 'List' ? out.items ?? [] : [out];
}

export const key = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map(key).join(', ')}`);
  return o;
}

/** The same object in another namespace (for objects the test cluster already has in cairn-system). */
export function inNamespace<T extends KubeObject>(o: T, namespace: string): T {
  return { ...structuredClone(o), metadata: { ...structuredClone(o.metadata), namespace } };
}

// Just enough of the pod template to read what the tests check.
export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type: string };
    appArmorProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string; readOnly?: boolean }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  secret?: { secretName: string; defaultMode?: number };
  projected?: { defaultMode?: number; sources: { configMap?: { name: string; items: { key: string; path: string }[] }; secret?: { name: string; items: { key: string; path: string }[] } }[] };
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  tolerations?: { operator?: string; key?: string }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number; seccompProfile?: { type: string } };
  containers: Container[];
  volumes?: Volume[];
  nodeName?: string;
  affinity?: unknown;
}

export interface Workload extends KubeObject {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } };
}

export function podSpec(o: KubeObject): PodSpec {
  return (o as Workload).spec.template.spec;
}
