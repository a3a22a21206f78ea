import { EventEmitter } from 'node:events';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentServer, BackupJob, JobEvent, JobIdentity, NodeStatusReply } from '../../../common/src/generated/proto/agent.ts';
import { AgentMetrics, type JobBook } from './agent-metrics.ts';
import { startMetricsServer, type RunningMetricsServer } from '../../../common/src/metrics-server.ts';

class FakeBook implements JobBook {
  readonly jobs = new Map<string, { identity: JobIdentity; bytesDone: number; startedAt: number }>();
  finished: string[] = [];
  finish(jobId: string, _error?: { code: string; message: string }): void {
    this.finished.push(jobId);
    this.jobs.delete(jobId);
  }
  report(): Promise<NodeStatusReply> {
    return Promise.resolve({
      nodeName: 'node-1', version: '0.1.0', uptimeSeconds: 1, activeJobs: [], bytesMovedTotal: 0, bytesPerSecond: 0,
      kubeletFreeBytes: 123_456, memoryRssBytes: 654_321, maxConcurrentJobs: 2, sampledAtUnixMs: 0,
    });
  }
}

const identity = (kind: string): JobIdentity => ({ jobId: 'j', namespace: 'team-a', ownerKind: kind, ownerName: 'b', attempt: 1 });

function samples(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const i = line.lastIndexOf(' ');
    const key = line.slice(0, i);
    if (!line.startsWith('#') && (key === name || key.startsWith(`${name}{`))) out[key] = Number(line.slice(i + 1));
  }
  return out;
}

describe('AgentMetrics', () => {
  it('labels every sample with the node and starts the job series at 0', async () => {
    const m = new AgentMetrics({ node: 'node-1', maxJobs: 3, defaultMetrics: false });
    const text = await m.render();
    expect(samples(text, 'cairn_agent_job_slots')).toEqual({ 'cairn_agent_job_slots{node="node-1"}': 3 });
    expect(samples(text, 'cairn_agent_jobs_running')).toEqual({ 'cairn_agent_jobs_running{kind="Backup",node="node-1"}': 0, 'cairn_agent_jobs_running{kind="Restore",node="node-1"}': 0 });
    expect(Object.keys(samples(text, 'cairn_agent_jobs_finished_total'))).toHaveLength(4);
  });

  it('counts running jobs and their bytes at scrape time, and ended jobs with result, duration and error code', async () => {
    const m = new AgentMetrics({ node: 'node-1', maxJobs: 2, defaultMetrics: false, now: () => 100_000 });
    const book = new FakeBook();
    m.observeBook(book);
    book.jobs.set('a', { identity: identity('Backup'), bytesDone: 1000, startedAt: 90_000 });
    book.jobs.set('b', { identity: identity('Restore'), bytesDone: 50, startedAt: 99_000 });
    let text = await m.render();
    expect(samples(text, 'cairn_agent_jobs_running')['cairn_agent_jobs_running{kind="Backup",node="node-1"}']).toBe(1);
    expect(samples(text, 'cairn_agent_bytes_moved_total')).toEqual({ 'cairn_agent_bytes_moved_total{kind="Backup",node="node-1"}': 1000, 'cairn_agent_bytes_moved_total{kind="Restore",node="node-1"}': 50 });
    expect(samples(text, 'cairn_agent_memory_bytes')).toEqual({ 'cairn_agent_memory_bytes{node="node-1"}': 654_321 });
    expect(samples(text, 'cairn_agent_kubelet_free_bytes')).toEqual({ 'cairn_agent_kubelet_free_bytes{node="node-1"}': 123_456 });

    book.jobs.get('a')!.bytesDone = 4000;
    book.finish('a');
    book.finish('b', { code: 'CAIRN_E_LIMIT_EXCEEDED', message: 'too big' });
    expect(book.finished).toEqual(['a', 'b']); // the book's own finish still runs
    text = await m.render();
    expect(samples(text, 'cairn_agent_jobs_running')['cairn_agent_jobs_running{kind="Backup",node="node-1"}']).toBe(0);
    expect(samples(text, 'cairn_agent_bytes_moved_total')).toEqual({ 'cairn_agent_bytes_moved_total{kind="Backup",node="node-1"}': 4000, 'cairn_agent_bytes_moved_total{kind="Restore",node="node-1"}': 50 });
    expect(samples(text, 'cairn_agent_jobs_finished_total')).toMatchObject({
      'cairn_agent_jobs_finished_total{kind="Backup",result="ok",node="node-1"}': 1,
      'cairn_agent_jobs_finished_total{kind="Restore",result="failed",node="node-1"}': 1,
    });
    expect(samples(text, 'cairn_agent_errors_total')).toEqual({ 'cairn_agent_errors_total{code="CAIRN_E_LIMIT_EXCEEDED",node="node-1"}': 1 });
    expect(samples(text, 'cairn_agent_job_duration_seconds_sum')['cairn_agent_job_duration_seconds_sum{node="node-1",kind="Backup"}']).toBe(10);
  });

  it('counts job calls the service refuses, by the code in their trailer', async () => {
    const m = new AgentMetrics({ node: 'node-1', maxJobs: 2, defaultMetrics: false });
    const refuse = (code?: string) => (call: ServerWritableStream<BackupJob, JobEvent>) => {
      const metadata = new Metadata();
      if (code) metadata.set('cairn-error-code', code);
      call.emit('error', Object.assign(new Error('no'), { metadata }));
    };
    const service = { backup: refuse('CAIRN_E_BUSY'), restore: refuse(), nodeStatus: () => {}, watchNodeStatus: () => {} } as unknown as AgentServer;
    const wrapped = m.observeService(service);
    const call = () => Object.assign(new EventEmitter(), { request: {} }) as unknown as ServerWritableStream<BackupJob, JobEvent>;
    wrapped.backup(call());
    wrapped.backup(call());
    (wrapped.restore as unknown as (c: unknown) => void)(call());
    expect(wrapped.nodeStatus).toBe(service.nodeStatus);
    expect(samples(await m.render(), 'cairn_agent_errors_total')).toEqual({
      'cairn_agent_errors_total{code="CAIRN_E_BUSY",node="node-1"}': 2,
      'cairn_agent_errors_total{code="CAIRN_E_INTERNAL",node="node-1"}': 1,
    });
  });
});

describe('the agent metrics server', () => {
  let server: RunningMetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('serves the agent metrics with the process metrics', async () => {
    const m = new AgentMetrics({ node: 'node-1', maxJobs: 2 });
    server = await startMetricsServer('127.0.0.1:0', m);
    const text = await (await fetch(`http://${server.address}/metrics`)).text();
    expect(text).toContain('cairn_agent_job_slots{node="node-1"} 2');
    expect(text).toContain('process_resident_memory_bytes{node="node-1"}');
  });
});
