// The install manifests against the real API server of the local cluster: each kustomization
// renders with kubectl kustomize and passes `kubectl apply --server-side --dry-run=server`
// (validation, defaulting and admission of a real apiserver, nothing stored); the certificate
// script issues per-node identities that the real agent and the coordinator's client accept; and
// the real DaemonSet controller's pods each get their own node's Secret through the
// MutatingAdmissionPolicy.
//
// The test cluster already runs an agent DaemonSet named cairn-agent in cairn-system (the
// harness's own, test/harness/agent-daemonset.ts); ours, whose selector differs, is dry-run and
// created in a namespace of this test instead. Everything else is dry-run where it would be
// installed.
import { X509Certificate } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AgentConnection } from '../../common/src/agent-client/agent-client.ts';
import { COORDINATOR_IDENTITY, agentIdentity } from '../../common/src/agent-identity.ts';
import { codeOf } from '../../common/src/errors.ts';
import { kubeAs } from '../harness/clients.ts';
import { createNamespaces } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';
import { deleteNamespaces, unique } from '../coordinator/runtime/runtime-fixtures.ts';
import {
  dryRunApply, find, inNamespace, key, kubectlPath, kustomizations, podSpec, render, repoRoot, run,
  type KubeObject, type Volume, type Workload,
} from './render.ts';

const cluster = inject('cluster');
const admin = kubeAs(cluster, 'admin');
const core = admin.makeApiClient(CoreV1Api);
const id = unique();
/** This test's namespace: our agent DaemonSet and the certificates live here. */
const ns = `manifests-${id}`;
const nodes = cluster.nodes.map((n) => n.name);
let caDir: string;
let install: KubeObject[];

const kubectl = (...args: string[]) => run(kubectlPath(), ['--kubeconfig', cluster.adminKubeconfig, ...args]);
const certs = (...args: string[]) =>
  run('bash', [join(repoRoot, 'scripts', 'cairn-certs.sh'), '-n', ns, '-d', caDir, ...args], {
    env: { ...process.env, KUBECTL: kubectlPath(), KUBECONFIG: cluster.adminKubeconfig },
  });

async function exists(kind: string, name: string, namespace?: string): Promise<boolean> {
  const r = await kubectl('get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'name');
  if (r.code === 0) return true;
  if (/NotFound|not found/.test(r.stderr)) return false;
  throw new Error(`kubectl get ${kind} ${name}: ${r.stderr}`);
}

async function secretCert(name: string): Promise<{ cert: X509Certificate; ca: X509Certificate; keyPem: string; type: string | undefined }> {
  const s = await core.readNamespacedSecret({ name, namespace: ns });
  const data = (k: string) => Buffer.from(s.data?.[k] ?? '', 'base64').toString();
  return { cert: new X509Certificate(data('tls.crt')), ca: new X509Certificate(data('ca.crt')), keyPem: data('tls.key'), type: s.type };
}

/** Everything but the DaemonSet cairn-agent, which goes to this test's namespace (see the top). */
function splitAgent(objects: KubeObject[]): { rest: KubeObject[]; agent: KubeObject } {
  const agent = find(objects, 'DaemonSet', 'cairn-agent');
  return { rest: objects.filter((o) => o !== agent), agent: inNamespace(agent, ns) };
}

beforeAll(async () => {
  caDir = await mkdtemp(join(tmpdir(), 'cairn-ca-'));
  install = await render(kustomizations.install);
  // Pod Security as the install sets it for cairn-system.
  const labels = find(install, 'Namespace', 'cairn-system').metadata.labels ?? {};
  await createNamespaces(admin, [ns]);
  const labelled = await kubectl('label', 'namespace', ns, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`));
  if (labelled.code !== 0) throw new Error(labelled.stderr);
});

afterAll(async () => {
  await kubectl('delete', 'mutatingadmissionpolicybinding,mutatingadmissionpolicy', `cairn-agent-tls-${id}`, '--ignore-not-found');
  await deleteNamespaces(admin, [ns]);
  await rm(caDir, { recursive: true, force: true });
});

describe('kustomizations', () => {
  it('each kustomization renders; install holds every object of the base plus the workloads the base leaves out', async () => {
    const base = await render(kustomizations.base);
    const overlay = await render(kustomizations.certManager);
    const installKeys = new Set(install.map(key));
    expect(base.map(key).filter((k) => !installKeys.has(k))).toEqual([]);
    // install/namespace.yaml repeats the base's Namespace: same labels, plus Pod Security.
    expect(find(install, 'Namespace', 'cairn-system').metadata.labels).toMatchObject(find(base, 'Namespace', 'cairn-system').metadata.labels!);
    for (const [kind, name] of [['Deployment', 'cairn-coordinator'], ['DaemonSet', 'cairn-agent'], ['NetworkPolicy', 'cairn-agent'], ['MutatingAdmissionPolicy', 'cairn-agent-tls']]) {
      expect(base.some((o) => o.kind === kind && o.metadata.name === name), `${kind} ${name} in the base`).toBe(false);
      find(install, kind!, name!);
      find(overlay, kind!, name!);
    }
    expect(overlay.map(key)).toEqual(expect.arrayContaining(install.map(key)));
  });

  it('the base passes a server-side dry run', async () => {
    const base = await render(kustomizations.base);
    const applied = await dryRunApply(cluster.adminKubeconfig, base);
    expect(applied.map(key).sort()).toEqual(base.map(key).sort());
  });

  it('install passes a server-side dry run, with the coordinator Deployment and agent DaemonSet as specified, and creates nothing', async () => {
    const { rest, agent } = splitAgent(install);
    const applied = [...await dryRunApply(cluster.adminKubeconfig, rest), ...await dryRunApply(cluster.adminKubeconfig, [agent])];
    expect(applied.map(key).sort()).toEqual([...rest, agent].map(key).sort());

    // The coordinator: 2 replicas, non-root with a read-only root filesystem and no capabilities,
    // its namespace and name from the downward API, config and TLS projected into /etc/cairn.
    const deployment = find(applied, 'Deployment', 'cairn-coordinator') as Workload;
    expect(deployment.spec.replicas).toBe(2);
    const cs = podSpec(deployment);
    const coordinator = cs.containers[0]!;
    expect(cs.serviceAccountName).toBe('cairn-coordinator');
    expect(cs.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(coordinator.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(coordinator.args).toEqual(['--config', '/etc/cairn/config.yaml']);
    expect(Object.fromEntries((coordinator.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]))).toMatchObject({ POD_NAMESPACE: 'metadata.namespace', POD_NAME: 'metadata.name' });
    const sources = cs.volumes!.find((v) => v.name === 'config')!.projected!.sources;
    const configMap = sources.find((s) => s.configMap)!.configMap!.name;
    expect(configMap).toMatch(/^cairn-coordinator-[a-z0-9]+$/);
    find(applied, 'ConfigMap', configMap);
    expect(sources.find((s) => s.secret)!.secret!.name).toBe('cairn-coordinator-tls');
    expect(coordinator.resources?.limits?.memory).toBeDefined();

    // The agent: root with exactly the sandbox's capabilities, the kubelet directory with
    // HostToContainer propagation, no service account token, port 9443, on every node.
    const ds = find(applied, 'DaemonSet', 'cairn-agent');
    const as = podSpec(ds);
    const container = as.containers[0]!;
    expect(as.automountServiceAccountToken).toBe(false);
    expect(as.hostNetwork ?? false).toBe(false);
    expect(as.tolerations).toContainEqual({ operator: 'Exists' });
    expect(container.securityContext?.privileged ?? false).toBe(false);
    expect(container.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect([...container.securityContext!.capabilities!.add!].sort()).toEqual(['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'SYS_ADMIN']);
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container.volumeMounts).toContainEqual(expect.objectContaining({ name: 'kubelet', mountPath: '/var/lib/kubelet', mountPropagation: 'HostToContainer' }));
    expect(as.volumes!.find((v: Volume) => v.name === 'kubelet')!.hostPath!.path).toBe('/var/lib/kubelet');
    expect(container.ports).toContainEqual(expect.objectContaining({ name: 'grpc', containerPort: 9443 }));
    for (const w of [deployment, ds] as Workload[]) expect(w.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true' });

    // Only the coordinator reaches the agents' gRPC port.
    const policy = find(applied, 'NetworkPolicy', 'cairn-agent') as KubeObject & { spec: { ingress: { from?: unknown[]; ports: { port: number }[] }[] } };
    const grpc = policy.spec.ingress.filter((r) => r.ports.some((p) => p.port === 9443));
    expect(grpc).toEqual([expect.objectContaining({ from: [{ podSelector: { matchLabels: podSpecLabels(deployment) } }] })]);

    // A dry run: what install adds to the base (which the test cluster has) does not exist
    // afterwards, and cairn-system kept its labels.
    const baseKeys = new Set((await render(kustomizations.base)).map(key));
    const added = [...rest.filter((o) => !baseKeys.has(key(o))), agent];
    expect(added.map((o) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'DaemonSet', 'ConfigMap', 'NetworkPolicy', 'MutatingAdmissionPolicy']));
    for (const o of added) expect(await exists(o.kind, o.metadata.name, o.metadata.namespace), `${key(o)} after the dry run`).toBe(false);
    const systemNs = await core.readNamespace({ name: 'cairn-system' });
    expect(systemNs.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBeUndefined();
  });

  it('the cert-manager overlay adds a CA chain and the coordinator Certificate; everything else passes a dry run', async () => {
    const overlay = await render(kustomizations.certManager);
    const certManager = overlay.filter((o) => o.apiVersion.startsWith('cert-manager.io/'));
    // cert-manager's CRDs are not in the test cluster: its objects are checked for what Cairn
    // relies on, the rest is dry-run.
    const { rest, agent } = splitAgent(overlay.filter((o) => !certManager.includes(o)));
    await dryRunApply(cluster.adminKubeconfig, rest);
    await dryRunApply(cluster.adminKubeconfig, [agent]);
    type Cert = KubeObject & { spec: { secretName: string; isCA?: boolean; dnsNames?: string[]; usages: string[]; issuerRef: { kind: string; name: string } } };
    type Issuer = KubeObject & { spec: { ca?: { secretName: string }; selfSigned?: object } };
    const coordinator = find(certManager, 'Certificate', 'cairn-coordinator-tls') as Cert;
    expect(coordinator.spec).toMatchObject({ secretName: 'cairn-coordinator-tls', dnsNames: [COORDINATOR_IDENTITY] });
    expect(coordinator.spec.usages).toContain('client auth');
    const caIssuer = find(certManager, 'Issuer', coordinator.spec.issuerRef.name) as Issuer;
    const ca = certManager.find((o) => o.kind === 'Certificate' && (o as Cert).spec.secretName === caIssuer.spec.ca?.secretName) as Cert;
    expect(ca.spec.isCA).toBe(true);
    expect((find(certManager, 'Issuer', ca.spec.issuerRef.name) as Issuer).spec.selfSigned).toEqual({});
    for (const o of certManager) expect(o.metadata.namespace).toBe('cairn-system');
  });
});

function podSpecLabels(w: Workload): Record<string, string> {
  return w.spec.template.metadata.labels;
}

describe('per-node agent certificates', () => {
  it('cairn-certs.sh makes a CA, the coordinator certificate and one per node, each naming its own identity only', async () => {
    const r = await certs('all');
    expect(r.code, r.stderr).toBe(0);
    const coordinator = await secretCert('cairn-coordinator-tls');
    expect(coordinator.type).toBe('kubernetes.io/tls');
    expect(coordinator.cert.subjectAltName).toBe(`DNS:${COORDINATOR_IDENTITY}`);
    expect(coordinator.cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
    expect(coordinator.cert.verify(coordinator.ca.publicKey)).toBe(true);
    expect(coordinator.ca.ca).toBe(true);
    for (const node of nodes) {
      const a = await secretCert(`cairn-agent-tls-${node}`);
      expect(a.cert.subjectAltName).toBe(`DNS:${agentIdentity(node)}`);
      expect(a.cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth only
      expect(a.cert.verify(coordinator.ca.publicKey)).toBe(true);
      expect(a.cert.ca).toBe(false);
    }
  });

  it('a second run keeps every certificate; --renew issues a node\'s again; prune deletes the Secret of a node that is gone', async () => {
    const before = (await secretCert(`cairn-agent-tls-${nodes[0]}`)).cert.serialNumber;
    expect((await certs('all')).code).toBe(0);
    expect((await secretCert(`cairn-agent-tls-${nodes[0]}`)).cert.serialNumber).toBe(before);
    const renewed = await certs('--renew', 'agents', nodes[0]!);
    expect(renewed.stdout).toContain('rollout restart daemonset/cairn-agent');
    expect((await secretCert(`cairn-agent-tls-${nodes[0]}`)).cert.serialNumber).not.toBe(before);

    expect((await certs('agents', 'gone-node')).code).toBe(0);
    expect(await exists('secret', 'cairn-agent-tls-gone-node', ns)).toBe(true);
    const pruned = await certs('prune');
    expect(pruned.stdout).toContain('agent gone-node: node gone');
    expect(await exists('secret', 'cairn-agent-tls-gone-node', ns)).toBe(false);
    for (const node of nodes) expect(await exists('secret', `cairn-agent-tls-${node}`, ns)).toBe(true);
    const status = await certs('status');
    expect(status.stdout).toMatch(new RegExp(`cairn-agent-tls-${nodes[1]}: DNS:${agentIdentity(nodes[1]!).replaceAll('.', '\\.')}, notAfter=`));
  });

  it('the real agent serves with its node\'s certificate: the coordinator\'s reaches it, a client for another node and an agent\'s certificate are refused', async () => {
    expect((await certs('all')).code).toBe(0); // issued by the first test already; kept
    const dir = await mkdtemp(join(tmpdir(), 'cairn-agent-tls-'));
    const write = async (name: string, secret: string) => {
      const s = await core.readNamespacedSecret({ name: secret, namespace: ns });
      for (const k of ['ca.crt', 'tls.crt', 'tls.key']) await writeFile(join(dir, `${name}-${k}`), Buffer.from(s.data![k]!, 'base64'), { mode: 0o600 });
    };
    await write('agent', `cairn-agent-tls-${nodes[0]}`);
    await write('coordinator', 'cairn-coordinator-tls');
    await write('other', `cairn-agent-tls-${nodes[1]}`);
    const tls = async (name: string) => {
      const { readFile } = await import('node:fs/promises');
      return { ca: await readFile(join(dir, `${name}-ca.crt`)), cert: await readFile(join(dir, `${name}-tls.crt`)), key: await readFile(join(dir, `${name}-tls.key`)) };
    };
    let agent: ChildProcess | undefined;
    const conns: AgentConnection[] = [];
    try {
      agent = spawn(process.execPath, [join(repoRoot, 'agent', 'src', 'main.ts'), '--node-name', nodes[0]!, '--listen', '127.0.0.1:0',
        '--tls-ca', join(dir, 'agent-ca.crt'), '--tls-cert', join(dir, 'agent-tls.crt'), '--tls-key', join(dir, 'agent-tls.key'), '--kubelet-root', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const port = await new Promise<number>((resolve, reject) => {
        agent!.once('exit', (code) => reject(new Error(`the agent exited (${code})`)));
        createInterface({ input: agent!.stdout! }).on('line', (l) => {
          const m = JSON.parse(l) as { msg?: string; port?: number };
          if (m.msg === 'agent serving' && m.port) resolve(m.port);
        });
      });
      const address = `127.0.0.1:${port}`;
      const coordinatorTls = await tls('coordinator');
      const good = new AgentConnection(nodes[0]!, address, coordinatorTls);
      conns.push(good);
      expect((await good.nodeStatus()).nodeName).toBe(nodes[0]);
      // The coordinator dialling node-2 at this address: the certificate names node-1.
      const wrongNode = new AgentConnection(nodes[1]!, address, coordinatorTls);
      conns.push(wrongNode);
      expect(codeOf(await wrongNode.nodeStatus(5_000).catch((e: unknown) => e))).toBe('CAIRN_E_AUTH');
      // Another node's agent certificate as a client: not the coordinator's identity.
      const impostor = new AgentConnection(nodes[0]!, address, await tls('other'));
      conns.push(impostor);
      expect(codeOf(await impostor.nodeStatus(5_000).catch((e: unknown) => e))).toMatch(/^CAIRN_E_(AUTH|AGENT_UNAVAILABLE)$/);
    } finally {
      for (const c of conns) c.close();
      agent?.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('each pod the real DaemonSet controller makes mounts its own node\'s Secret (MutatingAdmissionPolicy cairn-agent-tls)', async () => {
    expect((await certs('all')).code).toBe(0); // issued by the first test already; kept
    // The shipped policy, bound to this test's namespace only.
    const policy = structuredClone(find(install, 'MutatingAdmissionPolicy', 'cairn-agent-tls'));
    const binding = structuredClone(find(install, 'MutatingAdmissionPolicyBinding', 'cairn-agent-tls')) as KubeObject & { spec: { policyName: string; matchResources: { namespaceSelector: { matchLabels: Record<string, string> } } } };
    policy.metadata.name = `cairn-agent-tls-${id}`;
    binding.metadata.name = `cairn-agent-tls-${id}`;
    binding.spec.policyName = policy.metadata.name;
    expect(binding.spec.matchResources.namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'cairn-system' });
    binding.spec.matchResources.namespaceSelector.matchLabels = { 'kubernetes.io/metadata.name': ns };
    const serviceAccount = inNamespace(find(install, 'ServiceAccount', 'cairn-agent'), ns);
    const applied = await run(kubectlPath(), ['--kubeconfig', cluster.adminKubeconfig, 'apply', '--server-side', '-f', '-'], { input: [policy, binding, serviceAccount].map((o) => JSON.stringify(o)).join('\n---\n') });
    expect(applied.code, applied.stderr).toBe(0);

    const ds = splitAgent(install).agent as Workload;
    const template = (extra: Partial<V1Pod['spec']>, name: string): KubeObject => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: ns, labels: ds.spec.template.metadata.labels },
      spec: { ...podSpec(ds), ...extra },
    });
    const secretOf = (pod: KubeObject | V1Pod) => ((pod as { spec: { volumes: Volume[] } }).spec.volumes.find((v) => v.name === 'agent-tls')!.secret!.secretName);
    // Policies take effect a moment after they are created: dry-run a pod bound to a node until
    // it comes back changed.
    await waitFor('the policy to set a bound pod\'s Secret', async () => {
      const [pod] = await dryRunApply(cluster.adminKubeconfig, [template({ nodeName: nodes[1] }, 'bound')]);
      return secretOf(pod!) === `cairn-agent-tls-${nodes[1]}`;
    }, { timeoutMs: 30_000 });
    // A pod pinned to no node keeps the placeholder, which never exists.
    const [unplaced] = await dryRunApply(cluster.adminKubeconfig, [template({}, 'unplaced')]);
    expect(secretOf(unplaced!)).toBe('cairn-agent-tls');

    const created = await run(kubectlPath(), ['--kubeconfig', cluster.adminKubeconfig, 'apply', '--server-side', '-f', '-'], { input: JSON.stringify(ds) });
    expect(created.code, created.stderr).toBe(0);
    const selector = Object.entries(ds.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = await waitFor(`a pod of the DaemonSet on each of ${nodes.join(', ')}`, async () => {
      const items = (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
      return items.length === nodes.length && items.every((p) => p.spec?.nodeName) ? items : undefined;
    }, { timeoutMs: 60_000 });
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'DaemonSet', name: 'cairn-agent', controller: true });
      expect(secretOf(pod)).toBe(`cairn-agent-tls-${pod.spec!.nodeName}`);
    }
    expect(pods.map((p) => p.spec!.nodeName).sort()).toEqual([...nodes].sort());
    // Those Secrets are the ones the script issued, naming that node.
    for (const pod of pods) {
      expect((await secretCert(secretOf(pod))).cert.subjectAltName).toBe(`DNS:${agentIdentity(pod.spec!.nodeName!)}`);
    }
  });
});
