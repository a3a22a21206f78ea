// What the coordinator sees of a node through NodeStatus and WatchNodeStatus: who and what the
// agent is, what it has room for, and its jobs while they run. The job checks use an agent of
// their own (on node-2's address and kubelet root) so other suites' jobs cannot blur the counts.
import { randomUUID } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeStatusReply } from '../../common/src/generated/proto/agent.ts';
import { backupJob, coordinatorTo, extraAgent, fillRandom, mountedVolume, rawAgentClient, storageTarget, type ExtraAgent } from './agent-fixtures.ts';

const cluster = inject('cluster');
const version = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'agent', 'package.json'), 'utf8')) as { version: string }).version;

describe('agent node status', () => {
  it('NodeStatus names the node and reports version, uptime, free space, memory and the job limit', async () => {
    for (const a of cluster.agents) {
      const c = coordinatorTo(cluster, a.node);
      const s = await c.nodeStatus();
      c.close();
      const root = cluster.nodes.find((n) => n.name === a.node)!.kubeletRoot;
      const fs = await statfs(root);
      expect(s).toMatchObject({ nodeName: a.node, version, maxConcurrentJobs: 2 });
      expect(version).toMatch(/^\d+\.\d+\.\d+/);
      expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(s.uptimeSeconds).toBeLessThan(3600);
      // Free space under the kubelet root, as statfs sees it (other suites write meanwhile: 10%).
      expect(s.kubeletFreeBytes).toBeGreaterThan(0);
      expect(Math.abs(s.kubeletFreeBytes - fs.bavail * fs.bsize)).toBeLessThan(fs.bavail * fs.bsize * 0.1);
      // A Node process uses tens of MiB, and not gigabytes.
      expect(s.memoryRssBytes).toBeGreaterThan(10 << 20);
      expect(s.memoryRssBytes).toBeLessThan(4 * 2 ** 30);
      expect(Math.abs(s.sampledAtUnixMs - Date.now())).toBeLessThan(10_000);
    }
  });

  it('WatchNodeStatus sends a reply at once and then one per interval, and stops when cancelled', async () => {
    const client = rawAgentClient(cluster, cluster.agents[0]!.address);
    const call = client.watchNodeStatus({ intervalMs: 300 });
    const replies: Array<{ at: number; r: NodeStatusReply }> = [];
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      call.on('error', (err: ServiceError) => resolve(err));
      call.on('end', () => resolve(undefined));
    });
    const opened = Date.now();
    call.on('data', (r: NodeStatusReply) => replies.push({ at: Date.now(), r }));
    await new Promise((r) => setTimeout(r, 2_000));
    call.cancel();
    const err = await ended;
    const atCancel = replies.length;
    await new Promise((r) => setTimeout(r, 1_000));
    client.close();

    expect(err?.code).toBe(status.CANCELLED);
    expect(replies.length).toBe(atCancel); // nothing after the cancel
    // One at once, then one every 300 ms: 6 or 7 in 2 s (timers drift a little).
    expect(replies[0]!.at - opened).toBeLessThan(1_000);
    expect(replies.length).toBeGreaterThanOrEqual(5);
    expect(replies.length).toBeLessThanOrEqual(8);
    const gaps = replies.slice(1).map((x, i) => x.r.sampledAtUnixMs - replies[i]!.r.sampledAtUnixMs);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(250);
      expect(g).toBeLessThan(600);
    }
    for (const { r } of replies) expect(r.nodeName).toBe(cluster.agents[0]!.node);
  });

  describe('while a job runs', () => {
    let agent: ExtraAgent;
    beforeAll(async () => {
      agent = await extraAgent(cluster, 'node-2', { name: 'agent-node-2-status' });
    });
    afterAll(async () => {
      await agent.stop();
    });

    it('shows the backup in activeJobs with growing bytesDone, then empty activeJobs and more bytes moved', async () => {
      const vol = await mountedVolume(cluster, 'team-a', 'status-big', 'node-2');
      const size = 200 << 20;
      await fillRandom(vol.path, size);
      const conn = agent.connect();
      const before = await conn.nodeStatus();
      expect(before).toMatchObject({ nodeName: 'node-2', activeJobs: [], bytesMovedTotal: 0 });

      const client = rawAgentClient(cluster, agent.endpoint.address);
      const watch = client.watchNodeStatus({ intervalMs: 200 });
      watch.on('error', () => {}); // CANCELLED at the end
      const seen: NodeStatusReply[] = [];
      watch.on('data', (r: NodeStatusReply) => seen.push(r));

      const job = backupJob(vol, storageTarget(cluster, 'team-a', `status/${randomUUID()}`), 'big');
      const started = Date.now();
      const r = await conn.backup(job);
      const took = Date.now() - started;
      await new Promise((res) => setTimeout(res, 500));
      watch.cancel();
      client.close();
      expect(r).toMatchObject({ ok: true, bytes: size });

      const during = seen.flatMap((s) => s.activeJobs.filter((j) => j.identity?.jobId === job.identity!.jobId).map((j) => ({ j, s })));
      expect(during.length, `status samples during a ${took} ms job`).toBeGreaterThanOrEqual(2);
      const first = during[0]!.j;
      expect(first).toMatchObject({ volumeName: vol.ref.volumeName, pvName: vol.ref.pvName, identity: job.identity });
      expect(Math.abs(first.startedAtUnixMs - started)).toBeLessThan(2_000);
      const done = during.map((d) => d.j.bytesDone);
      expect(done).toEqual([...done].sort((a, b) => a - b)); // never goes back
      expect(new Set(done).size, `bytesDone seen: ${done.join(', ')}`).toBeGreaterThanOrEqual(2);
      expect(Math.max(...done)).toBeLessThanOrEqual(size);
      // The node's counters move with the job and the throughput is non-zero while it runs.
      expect(during.some((d) => d.s.bytesPerSecond > 0)).toBe(true);
      expect(during.every((d) => d.s.bytesMovedTotal >= d.j.bytesDone)).toBe(true);

      const after = await conn.nodeStatus();
      conn.close();
      expect(after.activeJobs).toEqual([]);
      expect(after.bytesMovedTotal).toBe(size);
      expect(after.lastError).toBeUndefined();
      console.log(`status: a ${size >> 20} MiB backup took ${took} ms, ${during.length} status samples showed it, bytesDone ${done.join(' ')}`);
    });
  });
});
