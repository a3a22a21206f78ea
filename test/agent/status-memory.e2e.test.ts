// Regression for a finding: NodeStatus.memoryRssBytes counted the agent alone, not its job
// processes as the protocol says.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { waitFor } from '../harness/wait.ts';
import { backupJob, descendants, extraAgent, fillRandom, mountedVolume, storageTarget, type ExtraAgent } from './agent-fixtures.ts';

const cluster = inject('cluster');
let agent: ExtraAgent;
beforeAll(async () => { agent = await extraAgent(cluster, 'node-2', { name: 'agent-node-2-memory' }); });
afterAll(async () => { await agent.stop(); });

const rss = (pid: number): number => {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};

it('memoryRssBytes includes the job processes while a job runs', async () => {
  const vol = await mountedVolume(cluster, 'team-a', 'memory-big', 'node-2');
  await fillRandom(vol.path, 200 << 20);
  const conn = agent.connect();
  let moving = false;
  const job = conn.backup(backupJob(vol, storageTarget(cluster, 'team-a', `memory/${randomUUID()}`), 'mem'), { onProgress: (p) => (moving ||= p.bytesDone > 0) });
  await waitFor('data moving', () => moving, { intervalMs: 20 });
  const pid = agent.process.pid!;
  const self = rss(pid);
  const children = descendants(pid).reduce((n, p) => n + rss(p), 0);
  const reported = (await conn.nodeStatus()).memoryRssBytes;
  await job;
  conn.close();
  console.log(`agent ${self >> 20} MiB, job processes ${children >> 20} MiB, reported ${reported >> 20} MiB`);
  expect(children).toBeGreaterThan(20 << 20);
  expect(reported).toBeGreaterThanOrEqual(0.8 * (self + children));
});
