import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorMetrics, type LocationObject, type WatchedObjects } from './coordinator-metrics.ts';
import { startMetricsServer, splitHostPort, type RunningMetricsServer } from '../../../common/src/metrics-server.ts';
import type { RunObject } from './run-events.ts';

/** An informer stand-in: a cache and update handlers. */
class FakeInformer<T> implements WatchedObjects<T> {
  items: T[] = [];
  synced = true;
  private handlers: Array<(obj: T, old: T) => void> = [];
  on(h: { update?: (obj: T, old: T) => void }): () => void {
    if (h.update) this.handlers.push(h.update);
    return () => {};
  }
  list(): T[] {
    return this.items;
  }
  health(): { synced: boolean } {
    return { synced: this.synced };
  }
  update(obj: T, old: T): void {
    for (const h of this.handlers) h(obj, old);
  }
}

const run = (namespace: string, phase: string, status: Record<string, unknown> = {}): RunObject => ({
  metadata: { namespace, creationTimestamp: '2026-01-01T00:00:00Z' }, status: { phase, ...status },
});

/** Sample lines of one metric (name and labels as written, value), without comments. */
function samples(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const i = line.lastIndexOf(' ');
    const key = line.slice(0, i);
    if (key === name || key.startsWith(`${name}{`)) out[key] = Number(line.slice(i + 1));
  }
  return out;
}

describe('CoordinatorMetrics', () => {
  it('counts finished runs, bytes, files, errors, durations and queue waits from informer updates', async () => {
    const m = new CoordinatorMetrics({ defaultMetrics: false });
    const backups = new FakeInformer<RunObject>();
    m.watchRuns('Backup', backups);
    const started = { startTimestamp: '2026-01-01T00:00:30Z' };
    backups.update(run('team-a', 'InProgress', started), run('team-a', 'Queued'));
    backups.update(run('team-a', 'Completed', { ...started, completionTimestamp: '2026-01-01T00:01:30Z', volumes: [{ phase: 'Completed', bytes: 1_048_576, files: 41 }] }), run('team-a', 'InProgress', started));
    backups.update(run('team-b', 'Failed', { errorCode: 'CAIRN_E_STORE_UNAVAILABLE' }), run('team-b', 'InProgress'));
    const text = await m.render();
    expect(samples(text, 'cairn_runs_finished_total')).toEqual({
      'cairn_runs_finished_total{kind="Backup",namespace="team-a",phase="Completed"}': 1,
      'cairn_runs_finished_total{kind="Backup",namespace="team-b",phase="Failed"}': 1,
    });
    expect(samples(text, 'cairn_bytes_moved_total')).toEqual({
      'cairn_bytes_moved_total{kind="Backup",namespace="team-a"}': 1_048_576,
      'cairn_bytes_moved_total{kind="Backup",namespace="team-b"}': 0,
    });
    expect(samples(text, 'cairn_files_moved_total')['cairn_files_moved_total{kind="Backup",namespace="team-a"}']).toBe(41);
    expect(samples(text, 'cairn_errors_total')).toEqual({ 'cairn_errors_total{kind="Backup",namespace="team-b",code="CAIRN_E_STORE_UNAVAILABLE"}': 1 });
    expect(samples(text, 'cairn_run_duration_seconds_sum')).toEqual({ 'cairn_run_duration_seconds_sum{kind="Backup",namespace="team-a"}': 60 });
    expect(samples(text, 'cairn_run_duration_seconds_bucket')['cairn_run_duration_seconds_bucket{le="60",kind="Backup",namespace="team-a"}']).toBe(1);
    expect(samples(text, 'cairn_queue_wait_seconds_sum')).toEqual({ 'cairn_queue_wait_seconds_sum{kind="Backup",namespace="team-a"}': 30 });
  });

  it('reads runs by phase, queue depth per namespace and locations by phase from the caches at scrape time', async () => {
    const m = new CoordinatorMetrics({ defaultMetrics: false });
    const backups = new FakeInformer<RunObject>();
    const restores = new FakeInformer<RunObject>();
    const locations = new FakeInformer<LocationObject>();
    m.watchRuns('Backup', backups);
    m.watchRuns('Restore', restores);
    m.watchLocations(locations);
    backups.items = [run('team-a', 'Queued'), run('team-a', 'Queued'), run('team-a', 'InProgress'), run('team-b', 'Completed')];
    restores.items = [run('team-b', 'Queued')];
    locations.items = [{ metadata: { namespace: 'team-a' }, status: { phase: 'Available' } }, { metadata: { namespace: 'team-b' } }];
    let text = await m.render();
    expect(samples(text, 'cairn_runs')).toEqual({
      'cairn_runs{kind="Backup",namespace="team-a",phase="New"}': 0,
      'cairn_runs{kind="Backup",namespace="team-a",phase="Queued"}': 2,
      'cairn_runs{kind="Backup",namespace="team-a",phase="InProgress"}': 1,
      'cairn_runs{kind="Backup",namespace="team-b",phase="New"}': 0,
      'cairn_runs{kind="Backup",namespace="team-b",phase="Queued"}': 0,
      'cairn_runs{kind="Backup",namespace="team-b",phase="InProgress"}': 0,
      'cairn_runs{kind="Backup",namespace="team-b",phase="Completed"}': 1,
      'cairn_runs{kind="Restore",namespace="team-b",phase="New"}': 0,
      'cairn_runs{kind="Restore",namespace="team-b",phase="Queued"}': 1,
      'cairn_runs{kind="Restore",namespace="team-b",phase="InProgress"}': 0,
    });
    expect(samples(text, 'cairn_queue_depth')).toEqual({ 'cairn_queue_depth{namespace="team-a"}': 2, 'cairn_queue_depth{namespace="team-b"}': 1 });
    expect(samples(text, 'cairn_backup_storage_locations')).toEqual({
      'cairn_backup_storage_locations{namespace="team-a",phase="Available"}': 1,
      'cairn_backup_storage_locations{namespace="team-a",phase="Unavailable"}': 0,
      'cairn_backup_storage_locations{namespace="team-b",phase="Available"}': 0,
      'cairn_backup_storage_locations{namespace="team-b",phase="Unavailable"}': 0,
      'cairn_backup_storage_locations{namespace="team-b",phase="Unknown"}': 1,
    });
    // What left the cache leaves the gauges.
    backups.items = [];
    text = await m.render();
    expect(Object.keys(samples(text, 'cairn_runs')).every((k) => k.includes('Restore'))).toBe(true);
  });

  it('exports nothing from a cache that has not synced (a standby)', async () => {
    const m = new CoordinatorMetrics({ defaultMetrics: false });
    const backups = new FakeInformer<RunObject>();
    backups.synced = false;
    backups.items = [run('team-a', 'Queued')];
    m.watchRuns('Backup', backups);
    const text = await m.render();
    expect(samples(text, 'cairn_runs')).toEqual({});
    expect(samples(text, 'cairn_leader')).toEqual({ cairn_leader: 0 });
    m.setLeader(true);
    expect(samples(await m.render(), 'cairn_leader')).toEqual({ cairn_leader: 1 });
  });

  it('exports each node agent\'s readiness, jobs, throughput, free space, memory and heartbeat', async () => {
    const m = new CoordinatorMetrics({ defaultMetrics: false });
    m.watchNodes(() => [
      { node: 'node-1', status: { ready: true, activeJobs: 2, bytesPerSecond: 1000, freeBytes: 5e9, memoryBytes: 9e7, lastHeartbeatTime: '2026-01-01T00:00:10Z' } },
      { node: 'node-2', status: { ready: false, activeJobs: 0 } },
    ]);
    const text = await m.render();
    expect(samples(text, 'cairn_node_agent_ready')).toEqual({ 'cairn_node_agent_ready{node="node-1"}': 1, 'cairn_node_agent_ready{node="node-2"}': 0 });
    expect(samples(text, 'cairn_node_agent_active_jobs')['cairn_node_agent_active_jobs{node="node-1"}']).toBe(2);
    expect(samples(text, 'cairn_node_agent_bytes_per_second')['cairn_node_agent_bytes_per_second{node="node-1"}']).toBe(1000);
    expect(samples(text, 'cairn_node_agent_free_bytes')).toEqual({ 'cairn_node_agent_free_bytes{node="node-1"}': 5e9 });
    expect(samples(text, 'cairn_node_agent_memory_bytes')).toEqual({ 'cairn_node_agent_memory_bytes{node="node-1"}': 9e7 });
    expect(samples(text, 'cairn_node_agent_last_heartbeat_timestamp_seconds')).toEqual({ 'cairn_node_agent_last_heartbeat_timestamp_seconds{node="node-1"}': Date.parse('2026-01-01T00:00:10Z') / 1000 });
  });

  it('has the process metrics by default', async () => {
    const text = await new CoordinatorMetrics().render();
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('startMetricsServer', () => {
  let server: RunningMetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves /metrics in the exposition format, /healthz, and 404 or 405 for the rest', async () => {
    const m = new CoordinatorMetrics({ defaultMetrics: false });
    server = await startMetricsServer('127.0.0.1:0', m);
    const base = `http://${server.address}`;
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await res.text()).toContain('# TYPE cairn_leader gauge');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('answers 500 when collecting fails', async () => {
    const errors: unknown[] = [];
    server = await startMetricsServer('127.0.0.1:0', { render: () => Promise.reject(new Error('boom')), contentType: 'text/plain' }, (e) => errors.push(e));
    expect((await fetch(`http://${server.address}/metrics`)).status).toBe(500);
    expect(errors).toHaveLength(1);
  });

  it('fails to start on an address in use', async () => {
    server = await startMetricsServer('127.0.0.1:0', new CoordinatorMetrics({ defaultMetrics: false }));
    await expect(startMetricsServer(server.address, new CoordinatorMetrics({ defaultMetrics: false }))).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('splits host and port', () => {
    expect(splitHostPort('0.0.0.0:9090')).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(splitHostPort('[::]:9090')).toEqual({ host: '::', port: 9090 });
    expect(() => splitHostPort('9090')).toThrow(/HOST:PORT/);
  });
});
