import { describe, expect, it } from 'vitest';
import { backup } from '../render/fixtures.ts';
import { adminBackups, adminNodes } from './admin.ts';
import { apiException, FakeApi, fakeCtx } from './fake-ctx.ts';

describe('admin nodes', () => {
  it('refused: exit 3 naming the role that reads NodeAgents', async () => {
    const ctx = fakeCtx({ api: new FakeApi().fail('list NodeAgent', apiException(403, 'Forbidden', 'nodeagents.cairn.dev is forbidden: User "team-a-admin" cannot list resource "nodeagents" in API group "cairn.dev" at the cluster scope')) });
    const err = await adminNodes(ctx, { command: 'admin nodes', output: 'table' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Forbidden', exitCode: 3 });
    expect((err as Error).message).toMatch(/^cannot list NodeAgents: .*; NodeAgents are for cluster admins: reading them needs the cairn-node-viewer ClusterRole/);
  });

  it('not installed: exit 4 saying so; none yet: exit 0 saying so', async () => {
    const missing = fakeCtx({ api: new FakeApi().fail('list NodeAgent', apiException(404, 'NotFound', 'the server could not find the requested resource')) });
    expect(await adminNodes(missing, { command: 'admin nodes', output: 'table' }).catch((e: unknown) => e)).toMatchObject({ reason: 'NotInstalled', exitCode: 4, message: expect.stringMatching(/^NodeAgents are not available in this cluster: the NodeAgent API \(nodeagents\.cairn\.dev\) is not installed/) as unknown });
    const empty = fakeCtx();
    expect(await adminNodes(empty, { command: 'admin nodes', output: 'table' })).toBe(0);
    expect(empty.stdout()).toBe('');
    expect(empty.stderr()).toMatch(/^No NodeAgents yet: the coordinator creates one per node/);
  });

  it('lists the nodes and, below, their running jobs', async () => {
    const api = new FakeApi().put('NodeAgent', { metadata: { name: 'node-1' }, status: { ready: true, activeJobs: 1, jobs: [{ namespace: 'team-a', kind: 'Backup', name: 'b1', volume: 'data', bytesDone: 1, totalBytes: 2 }] } });
    const ctx = fakeCtx({ api });
    await adminNodes(ctx, { command: 'admin nodes', output: 'table' });
    expect(ctx.stdout()).toMatch(/^NAME\s+READY\s+JOBS\s+VERSION\s+HEARTBEAT\s+THROUGHPUT\s+FREE\s+AGE\nnode-1\s+True\s+1\s+/);
    expect(ctx.stdout()).toMatch(/\nRunning jobs:\nNODE\s+NAMESPACE\s+KIND\s+NAME\s+VOLUME\s+PROGRESS\nnode-1\s+team-a\s+Backup\s+b1\s+data\s+1 B\/2 B \(50%\)\n$/);
  });
});

describe('admin backups', () => {
  it('lists Backups of every namespace with the namespace first; refused is exit 3', async () => {
    const ctx = fakeCtx({ api: new FakeApi().put('Backup', backup('b2', 'team-b').phase('Completed').build() as never).put('Backup', backup('b1', 'team-a').phase('Completed').build() as never) });
    await adminBackups(ctx, { command: 'admin backups', output: 'name' });
    expect(ctx.stdout()).toBe('backup.cairn.dev/b1\nbackup.cairn.dev/b2\n');
    const refused = fakeCtx({ api: new FakeApi().fail('list Backup', apiException(403, 'Forbidden', 'backups.cairn.dev is forbidden')) });
    expect(await adminBackups(refused, { command: 'admin backups', output: 'table' }).catch((e: unknown) => e)).toMatchObject({ reason: 'Forbidden', exitCode: 3 });
  });
});
