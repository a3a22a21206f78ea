// What a NodeAgent's status says: from an agent's NodeStatusReply (Ready), or from its silence
// (NotReady). Pure functions: the monitor decides when to write, these decide what.
import type { NodeAgentJob, NodeAgentStatus } from '../../../common/src/crds.ts';
import type { NodeStatusReply } from '../../../common/src/generated/proto/agent.ts';
import { metaTime } from '../runtime/conditions.ts';

/** Longest `lastError` written (the agent's messages are short; this bounds a surprise). */
export const maxErrorChars = 1024;

function cut(s: string): string {
  return s.length > maxErrorChars ? `${s.slice(0, maxErrorChars - 3)}...` : s;
}

function jobKind(kind: string | undefined): NodeAgentJob['kind'] {
  return kind === 'Backup' || kind === 'Restore' ? kind : undefined;
}

/**
 * The status of a node whose agent just reported. `pvcs` maps each job's PV name to its claim's
 * name (the CRD's `volume` is the PVC); a job whose PV is unknown shows the pod's volume name.
 */
export function readyStatus(node: string, r: NodeStatusReply, receivedAt: Date, pvcs: ReadonlyMap<string, string> = new Map()): NodeAgentStatus {
  const jobs: NodeAgentJob[] = r.activeJobs.map((j) => {
    const kind = jobKind(j.identity?.ownerKind);
    return {
      id: j.identity?.jobId ?? '',
      namespace: j.identity?.namespace ?? '',
      ...(kind ? { kind } : {}),
      name: j.identity?.ownerName ?? '',
      volume: pvcs.get(j.pvName) ?? j.volumeName,
      bytesDone: Number(j.bytesDone),
      totalBytes: Number(j.totalBytes),
    };
  });
  return {
    nodeName: node,
    version: r.version,
    ready: true,
    lastHeartbeatTime: metaTime(receivedAt),
    activeJobs: jobs.length,
    jobs,
    bytesPerSecond: Number(r.bytesPerSecond),
    freeBytes: Number(r.kubeletFreeBytes),
    memoryBytes: Number(r.memoryRssBytes),
    uptimeSeconds: Number(r.uptimeSeconds),
    ...(r.lastError ? { lastError: cut(`${r.lastError.code}: ${r.lastError.message}`) } : {}),
  };
}

/**
 * The status of a node whose agent stopped reporting: what was last known (version, heartbeat,
 * free space, memory) stays; no job is shown as running (its stream broke with the agent), and
 * `lastError` says why the node is NotReady.
 */
export function notReadyStatus(node: string, previous: NodeAgentStatus, why: string): NodeAgentStatus {
  return { ...previous, nodeName: node, ready: false, activeJobs: 0, jobs: [], bytesPerSecond: 0, lastError: cut(`CAIRN_E_AGENT_UNAVAILABLE: ${why}`) };
}

/**
 * Whether `next` says something `previous` did not, leaving out what changes with every report
 * (heartbeat time, uptime, throughput, memory, free space): such a change is written at once,
 * the rest with the periodic heartbeat.
 */
export function meaningfulChange(previous: NodeAgentStatus | undefined, next: NodeAgentStatus): boolean {
  if (!previous) return true;
  const key = (s: NodeAgentStatus) => JSON.stringify([s.ready, s.version, s.activeJobs, s.lastError, (s.jobs ?? []).map((j) => [j.id, j.bytesDone, j.totalBytes])]);
  return key(previous) !== key(next);
}
