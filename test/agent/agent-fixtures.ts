// Building blocks of the agent suites: a tenant pod with a volume on a simulated node, job
// messages for it, and a connection to an agent as the coordinator.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata, credentials, type ChannelOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { CoreV1Api, type V1PersistentVolume, type V1Pod } from '@kubernetes/client-node';
import { AgentConnection } from '../../common/src/agent-client/agent-client.ts';
import { agentIdentity } from '../../common/src/agent-identity.ts';
import { AgentClient, type BackupJob, type RestoreJob, type StorageTarget, type VolumeRef } from '../../common/src/generated/proto/agent.ts';
import { startAgent, type AgentEndpoint } from '../harness/agents.ts';
import type { ManagedProcess } from '../harness/managed-process.ts';
import type { ClusterInfo } from '../harness/cluster.ts';
import { kubeAs } from '../harness/clients.ts';
import { pod, pvc } from '../harness/builders.ts';
import { waitFor } from '../harness/wait.ts';
import { podVolumePath } from '../harness/sim/kubelet.ts';

export interface MountedVolume {
  pod: V1Pod;
  pv: V1PersistentVolume;
  pvcUid: string;
  node: string;
  /** The volume as the pod sees it (the simulated kubelet's mount). */
  path: string;
  ref: VolumeRef;
}

/** A PVC of the local StorageClass mounted by a Running pod, in `namespace`. */
export async function mountedVolume(cluster: ClusterInfo, namespace: string, name: string, node?: string): Promise<MountedVolume> {
  const core = kubeAs(cluster, `${namespace}-admin`).makeApiClient(CoreV1Api);
  const admin = kubeAs(cluster, 'admin').makeApiClient(CoreV1Api);
  await core.createNamespacedPersistentVolumeClaim({ namespace, body: pvc(name, namespace).build() });
  const bound = await waitFor(`${name} Bound`, async () => {
    const c = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
    return c.status?.phase === 'Bound' ? c : undefined;
  });
  const p = pod(`${name}-pod`, namespace).withPvc(name);
  if (node) p.onNode(node);
  await core.createNamespacedPod({ namespace, body: p.build() });
  const running = await waitFor(`${name}-pod Running`, async () => {
    const x = await core.readNamespacedPod({ name: `${name}-pod`, namespace });
    return x.status?.phase === 'Running' ? x : undefined;
  });
  const pv = await admin.readPersistentVolume({ name: bound.spec!.volumeName! });
  const simNode = cluster.nodes.find((n) => n.name === running.spec!.nodeName)!;
  return {
    pod: running, pv, pvcUid: bound.metadata!.uid!, node: simNode.name,
    path: podVolumePath(simNode.kubeletRoot, running.metadata!.uid!, 'kubernetes.io~csi', pv.metadata!.name!),
    ref: {
      podUid: running.metadata!.uid!, volumeName: name, pluginDir: 'kubernetes.io~csi', pvName: pv.metadata!.name!,
      source: { $case: 'csi', value: { driver: pv.spec!.csi!.driver, volumeHandle: pv.spec!.csi!.volumeHandle } },
    },
  };
}

export function storageTarget(cluster: ClusterInfo, tenant: string, prefix: string): StorageTarget {
  const t = cluster.minio.tenants[tenant]!;
  return {
    endpoint: cluster.minio.endpoint, pinnedAddress: '127.0.0.1', bucket: t.bucket, prefix, region: 'us-east-1', forcePathStyle: true, caCertPem: '',
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey, sessionToken: '' },
  };
}

export function backupJob(v: MountedVolume, storage: StorageTarget, backupName: string, namespace = 'team-a'): BackupJob {
  return {
    identity: { jobId: randomUUID(), namespace, ownerKind: 'Backup', ownerName: backupName, attempt: 1 },
    volume: v.ref, storage, backupName, volumeId: v.ref.volumeName, lineage: { clusterUid: 'test-cluster', pvcUid: v.pvcUid },
    options: { progressIntervalMs: 0 },
  };
}

export function restoreJob(target: MountedVolume, storage: StorageTarget, backupName: string, sourceVolumeId: string, namespace = 'team-a'): RestoreJob {
  return {
    identity: { jobId: randomUUID(), namespace, ownerKind: 'Restore', ownerName: `restore-${backupName}`, attempt: 1 },
    volume: target.ref, storage, backupName, sourceVolumeId, paths: [], maxBytes: 1 << 30,
  };
}

/** A connection to `node`'s agent with the coordinator's certificate. */
export function coordinatorTo(cluster: ClusterInfo, node: string, address?: string): AgentConnection {
  const a = cluster.agents.find((x) => x.node === node)!;
  const c = cluster.agentPki.coordinator;
  return new AgentConnection(node, address ?? a.address, { ca: readFileSync(cluster.agentPki.ca), cert: readFileSync(c.cert), key: readFileSync(c.key) });
}

/** Writes `bytes` of random data under `dir` as files of `fileSize` bytes (incompressible). */
export async function fillRandom(dir: string, bytes: number, fileSize = 8 << 20): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0, left = bytes; left > 0; i++, left -= fileSize) {
    await writeFile(join(dir, `blob-${String(i).padStart(4, '0')}.bin`), randomBytes(Math.min(fileSize, left)));
  }
}

/** Channel options that make the TLS server name the agent identity of `node`, as AgentConnection does. */
function agentChannelOptions(node: string): ChannelOptions {
  return { 'grpc.ssl_target_name_override': agentIdentity(node), 'grpc.default_authority': agentIdentity(node) };
}

/**
 * A plain grpc-js client of an agent, for what AgentConnection does not expose (the status
 * stream, raw status codes and trailers) or to present another client certificate.
 * `identity` defaults to the coordinator's certificate; `node` is the name the server
 * certificate must carry (defaults to the node whose agent is at `address`).
 */
export function rawAgentClient(cluster: ClusterInfo, address: string, o: { node?: string; identity?: { cert: string; key: string }; ca?: string } = {}): AgentClient {
  const node = o.node ?? cluster.agents.find((a) => a.address === address)?.node ?? cluster.nodes.find((n) => address.startsWith(`${n.ip}:`))!.name;
  const id = o.identity ?? cluster.agentPki.coordinator;
  const creds = credentials.createSsl(readFileSync(o.ca ?? cluster.agentPki.ca), readFileSync(id.key), readFileSync(id.cert));
  return new AgentClient(address, creds, agentChannelOptions(node));
}

/** The status and trailer of a failed gRPC call, or of a call that unexpectedly succeeded. */
export interface CallOutcome {
  ok: boolean;
  code?: number;
  details?: string;
  cairnCode?: string;
  /** Replies or events received before the call ended. */
  messages: unknown[];
}

function outcomeOf(err: ServiceError | null, messages: unknown[]): CallOutcome {
  if (!err) return { ok: true, messages };
  const cairn = err.metadata?.get('cairn-error-code')[0];
  return { ok: false, code: err.code, details: err.details, messages, ...(cairn !== undefined ? { cairnCode: cairn.toString() } : {}) };
}

export function unaryStatus(client: AgentClient, timeoutMs = 10_000): Promise<CallOutcome> {
  return new Promise((resolve) => {
    client.nodeStatus({ intervalMs: 0 }, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, r) => resolve(outcomeOf(err, r ? [r] : [])));
  });
}

/** Runs a server-streaming call to its end and reports every message and the final status. */
export function drain<T>(call: ClientReadableStream<T>): Promise<CallOutcome> {
  return new Promise((resolve) => {
    const messages: unknown[] = [];
    call.on('data', (m: T) => messages.push(m));
    call.on('error', (err: ServiceError) => resolve(outcomeOf(err, messages)));
    call.on('end', () => resolve(outcomeOf(null, messages)));
  });
}

export interface ExtraAgent {
  endpoint: AgentEndpoint;
  process: ManagedProcess;
  /** Connection as the coordinator. */
  connect(): AgentConnection;
  stop(): Promise<void>;
}

/**
 * Another agent for `node` (same identity unless `serveAs` names another node, address and kubelet root, its own port and log), so a
 * test can give it its own flags and read its counters and log without other suites' jobs.
 */
export async function extraAgent(cluster: ClusterInfo, nodeName: string, o: { name: string; maxJobs?: number; serveAs?: string }): Promise<ExtraAgent> {
  const node = cluster.nodes.find((n) => n.name === nodeName)!;
  const runDir = await mkdtemp(join(tmpdir(), `cairn-${o.name}-`));
  await mkdir(join(runDir, 'logs'));
  // serveAs: the agent serves another node's certificate (a stolen or misplaced one).
  const pki = o.serveAs ? { ...cluster.agentPki, agents: { [nodeName]: cluster.agentPki.agents[o.serveAs]! } } : cluster.agentPki;
  const a = await startAgent({
    runDir, node, pki, allowEndpoints: [new URL(cluster.minio.endpoint).host], name: o.name, ...(o.maxJobs ? { maxJobs: o.maxJobs } : {}),
  });
  return {
    ...a,
    connect: () => coordinatorTo(cluster, nodeName, a.endpoint.address),
    stop: async () => {
      await a.process.stop();
      await rm(runDir, { recursive: true, force: true });
    },
  };
}

/** Process ids below `pid` (children, grandchildren, ...), from /proc. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

/**
 * Runs `job` again while the agent refuses it as busy (CAIRN_E_BUSY), as the coordinator does:
 * the cluster's agents and their job slots are shared with the suites that drive the real
 * coordinator, which may hold both slots of a node for a while. Gives up after `ms`.
 */
export async function whenSlotFree<T>(job: () => Promise<T>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await job();
    } catch (err) {
      if ((err as { code?: string }).code !== 'CAIRN_E_BUSY' || Date.now() > until) throw err;
      await sleep(250);
    }
  }
}
