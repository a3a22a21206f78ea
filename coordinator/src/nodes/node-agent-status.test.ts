import { describe, expect, it } from 'vitest';
import type { NodeStatusReply } from '../../../common/src/generated/proto/agent.ts';
import { maxErrorChars, meaningfulChange, notReadyStatus, readyStatus } from './node-agent-status.ts';

function reply(o: Partial<NodeStatusReply> = {}): NodeStatusReply {
  return {
    nodeName: 'node-1', version: '0.1.0', uptimeSeconds: 42, activeJobs: [], bytesMovedTotal: 0, bytesPerSecond: 0,
    kubeletFreeBytes: 5e9, memoryRssBytes: 80e6, maxConcurrentJobs: 2, sampledAtUnixMs: 0, ...o,
  };
}

const job = (id: string, bytesDone: number) => ({
  identity: { jobId: id, namespace: 'team-a', ownerKind: 'Backup', ownerName: 'nightly', attempt: 1 },
  volumeName: 'data', pvName: 'pv-1', bytesDone, totalBytes: 100, startedAtUnixMs: 0,
});

describe('readyStatus', () => {
  it('copies what the agent reported, with the PVC of each job and second-precision heartbeat', () => {
    const s = readyStatus('node-1', reply({ activeJobs: [job('j1', 10)], bytesPerSecond: 300, lastError: { code: 'CAIRN_E_BUSY', message: 'full', jobId: '', atUnixMs: 0 } }),
      new Date('2026-01-02T03:04:05.678Z'), new Map([['pv-1', 'www']]));
    expect(s).toEqual({
      nodeName: 'node-1', version: '0.1.0', ready: true, lastHeartbeatTime: '2026-01-02T03:04:05Z', activeJobs: 1,
      jobs: [{ id: 'j1', namespace: 'team-a', kind: 'Backup', name: 'nightly', volume: 'www', bytesDone: 10, totalBytes: 100 }],
      bytesPerSecond: 300, freeBytes: 5e9, memoryBytes: 80e6, uptimeSeconds: 42, lastError: 'CAIRN_E_BUSY: full',
    });
  });

  it('shows the pod volume when the PV has no known claim, and leaves out a kind the CRD does not allow', () => {
    const odd = { ...job('j2', 1), identity: { ...job('j2', 1).identity, ownerKind: 'Other' } };
    const [j] = readyStatus('node-1', reply({ activeJobs: [odd] }), new Date()).jobs!;
    expect(j!.volume).toBe('data');
    expect(j).not.toHaveProperty('kind');
  });

  it('has no lastError when the agent has had none', () => {
    expect(readyStatus('node-1', reply(), new Date())).not.toHaveProperty('lastError');
  });
});

describe('notReadyStatus', () => {
  it('keeps what was known, shows no running job and says why with CAIRN_E_AGENT_UNAVAILABLE', () => {
    const before = readyStatus('node-1', reply({ activeJobs: [job('j1', 10)], bytesPerSecond: 9 }), new Date('2026-01-02T03:04:05Z'));
    const s = notReadyStatus('node-1', before, 'no status from the agent for 21 s');
    expect(s).toMatchObject({ ready: false, version: '0.1.0', lastHeartbeatTime: '2026-01-02T03:04:05Z', activeJobs: 0, jobs: [], bytesPerSecond: 0, freeBytes: 5e9 });
    expect(s.lastError).toBe('CAIRN_E_AGENT_UNAVAILABLE: no status from the agent for 21 s');
  });

  it('cuts a long reason', () => {
    expect(notReadyStatus('n', {}, 'x'.repeat(5000)).lastError).toHaveLength(maxErrorChars);
  });
});

describe('meaningfulChange', () => {
  const base = readyStatus('node-1', reply({ activeJobs: [job('j1', 10)] }), new Date(0));
  it('ignores heartbeat, uptime, throughput, memory and free space', () => {
    expect(meaningfulChange(base, readyStatus('node-1', reply({ activeJobs: [job('j1', 10)], uptimeSeconds: 99, bytesPerSecond: 7, memoryRssBytes: 1, kubeletFreeBytes: 2 }), new Date(9_000)))).toBe(false);
  });

  it('sees job progress, new jobs, readiness, version and errors', () => {
    expect(meaningfulChange(base, readyStatus('node-1', reply({ activeJobs: [job('j1', 11)] }), new Date(0)))).toBe(true);
    expect(meaningfulChange(base, readyStatus('node-1', reply({ activeJobs: [job('j1', 10), job('j2', 0)] }), new Date(0)))).toBe(true);
    expect(meaningfulChange(base, { ...base, ready: false })).toBe(true);
    expect(meaningfulChange(base, { ...base, version: '0.2.0' })).toBe(true);
    expect(meaningfulChange(base, { ...base, lastError: 'CAIRN_E_INTERNAL: x' })).toBe(true);
    expect(meaningfulChange(undefined, base)).toBe(true);
  });
});
