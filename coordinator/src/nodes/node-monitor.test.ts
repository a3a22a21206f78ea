import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { NodeAgent, NodeAgentStatus } from '../../../common/src/crds.ts';
import { CairnError } from '../../../common/src/errors.ts';
import type { NodeStatusReply } from '../../../common/src/generated/proto/agent.ts';
import type { NodeAgentStore } from './node-agent-store.ts';
import { NodeMonitor } from './node-monitor.ts';

const logger = pino({ level: 'silent' });

function reply(node: string, o: Partial<NodeStatusReply> = {}): NodeStatusReply {
  return {
    nodeName: node, version: '0.1.0', uptimeSeconds: 1, activeJobs: [], bytesMovedTotal: 0, bytesPerSecond: 0,
    kubeletFreeBytes: 1000, memoryRssBytes: 2000, maxConcurrentJobs: 2, sampledAtUnixMs: 0, ...o,
  };
}

/** NodeAgents in memory; `owned` are those this coordinator created. */
class MemoryStore implements NodeAgentStore {
  readonly objects = new Map<string, NodeAgent>();
  readonly owned = new Set<string>();
  writes = 0;
  failNext = false;

  writeStatus(node: string, mutate: (s: NodeAgentStatus) => NodeAgentStatus): Promise<NodeAgent> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('apiserver down'));
    }
    let obj = this.objects.get(node);
    if (!obj) {
      obj = { apiVersion: 'cairn.dev/v1alpha1', kind: 'NodeAgent', metadata: { name: node, uid: `uid-${node}` }, spec: { nodeName: node } };
      this.objects.set(node, obj);
      this.owned.add(node);
    }
    obj.status = mutate(structuredClone(obj.status ?? {}));
    this.writes++;
    return Promise.resolve(structuredClone(obj));
  }

  listOwned(): Promise<string[]> {
    return Promise.resolve([...this.owned]);
  }

  delete(node: string): Promise<void> {
    this.objects.delete(node);
    this.owned.delete(node);
    return Promise.resolve();
  }
}

/** Status streams the test drives: one open stream per node at a time. */
class Streams {
  readonly opened: Array<{ node: string; address: string }> = [];
  private readonly open = new Map<string, { onStatus: (r: NodeStatusReply) => void; fail: (e: Error) => void }>();

  readonly fn = (node: string, address: string, _interval: number, onStatus: (r: NodeStatusReply) => void, signal: AbortSignal): Promise<void> => {
    this.opened.push({ node, address });
    return new Promise<void>((resolve, reject) => {
      this.open.set(node, { onStatus, fail: reject });
      signal.addEventListener('abort', () => {
        this.open.delete(node);
        resolve();
      }, { once: true });
    });
  };

  emit(node: string, r: NodeStatusReply): void {
    const s = this.open.get(node);
    if (!s) throw new Error(`no open stream to ${node}`);
    s.onStatus(r);
  }

  break(node: string): void {
    const s = this.open.get(node);
    this.open.delete(node);
    s?.fail(new CairnError('CAIRN_E_AGENT_UNAVAILABLE', `agent on ${node} is unreachable: connection refused`));
  }

  isOpen(node: string): boolean {
    return this.open.has(node);
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let monitors: NodeMonitor[] = [];
afterEach(async () => {
  for (const m of monitors) await m.close();
  monitors = [];
});

function setUp(o: { agents?: Record<string, string>; pods?: string[] } = {}) {
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms) };
  const agents = new Map(Object.entries(o.agents ?? { 'node-1': '127.0.0.2:9443' }).map(([n, address]) => [n, { address }]));
  const pods = new Set(o.pods ?? [...agents.keys()]);
  const store = new MemoryStore();
  const streams = new Streams();
  const events: string[] = [];
  let listFails = false;
  const monitor = new NodeMonitor({
    agents: () => (listFails ? Promise.reject(new Error('apiserver down')) : Promise.resolve(agents)),
    agentPodNodes: () => Promise.resolve(pods),
    streams: streams.fn, store, logger, now: () => now,
    pvcOf: (pv) => Promise.resolve(pv === 'pv-1' ? 'www' : undefined),
    events: { record: (obj, type, reason) => events.push(`${type} ${reason} ${obj.metadata.name}`) },
    reconnect: { initialMs: 2, maxMs: 4 },
  });
  monitors.push(monitor);
  return { monitor, store, streams, agents, pods, clock, events, failLists: (v: boolean) => (listFails = v) };
}

describe('NodeMonitor', () => {
  it('opens a status stream per running agent and writes a Ready NodeAgent from its report', async () => {
    const { monitor, store, streams } = setUp({ agents: { 'node-1': '127.0.0.2:9443', 'node-2': '127.0.0.3:9443' } });
    await monitor.discover();
    expect(streams.opened).toEqual([{ node: 'node-1', address: '127.0.0.2:9443' }, { node: 'node-2', address: '127.0.0.3:9443' }]);
    streams.emit('node-1', reply('node-1', {
      activeJobs: [{ identity: { jobId: 'j', namespace: 'team-a', ownerKind: 'Restore', ownerName: 'r1', attempt: 1 }, volumeName: 'data', pvName: 'pv-1', bytesDone: 5, totalBytes: 10, startedAtUnixMs: 0 }],
    }));
    await settle();
    expect(store.objects.get('node-1')?.status).toMatchObject({
      nodeName: 'node-1', ready: true, version: '0.1.0', activeJobs: 1, freeBytes: 1000, memoryBytes: 2000,
      jobs: [{ id: 'j', namespace: 'team-a', kind: 'Restore', name: 'r1', volume: 'www', bytesDone: 5, totalBytes: 10 }],
    });
    expect(store.objects.get('node-1')?.status?.lastHeartbeatTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(store.objects.has('node-2')).toBe(false); // nothing heard yet
    expect(monitor.current().map((c) => c.node)).toEqual(['node-1']);
  });

  it('writes an unchanged status only every heartbeat interval, and a change at once', async () => {
    const { monitor, store, streams, clock } = setUp();
    await monitor.discover();
    streams.emit('node-1', reply('node-1'));
    await settle();
    expect(store.writes).toBe(1);
    clock.advance(5_000);
    streams.emit('node-1', reply('node-1', { bytesPerSecond: 10, uptimeSeconds: 6 }));
    await settle();
    expect(store.writes).toBe(1);
    clock.advance(5_000);
    streams.emit('node-1', reply('node-1', { uptimeSeconds: 11 }));
    await settle();
    expect(store.writes).toBe(2);
    streams.emit('node-1', reply('node-1', { lastError: { code: 'CAIRN_E_SANDBOX', message: 'bwrap failed', jobId: 'j', atUnixMs: 0 } }));
    await settle();
    expect(store.writes).toBe(3);
    expect(store.objects.get('node-1')?.status?.lastError).toBe('CAIRN_E_SANDBOX: bwrap failed');
  });

  it('turns a silent node NotReady after 20 s, once, and Ready again at its next report, with Events', async () => {
    const { monitor, store, streams, clock, events } = setUp();
    await monitor.discover();
    streams.emit('node-1', reply('node-1'));
    await settle();
    clock.advance(19_000);
    monitor.checkHeartbeats();
    await settle();
    expect(store.objects.get('node-1')?.status?.ready).toBe(true);
    clock.advance(1_000);
    monitor.checkHeartbeats();
    await settle();
    const st = store.objects.get('node-1')!.status!;
    expect(st).toMatchObject({ ready: false, version: '0.1.0', activeJobs: 0, jobs: [] });
    expect(st.lastError).toMatch(/^CAIRN_E_AGENT_UNAVAILABLE: no status from the agent for 20 s/);
    const writes = store.writes;
    clock.advance(5_000);
    monitor.checkHeartbeats();
    await settle();
    expect(store.writes).toBe(writes);
    streams.emit('node-1', reply('node-1'));
    await settle();
    expect(store.objects.get('node-1')?.status).toMatchObject({ ready: true });
    expect(store.objects.get('node-1')?.status).not.toHaveProperty('lastError');
    expect(events).toEqual(['Warning AgentNotReady node-1', 'Normal AgentReady node-1']);
  });

  it('reconnects a broken stream and says in lastError why the node went NotReady', async () => {
    const { monitor, store, streams, clock } = setUp();
    await monitor.discover();
    streams.emit('node-1', reply('node-1'));
    streams.break('node-1');
    await until('a second stream', () => streams.opened.length === 2 && streams.isOpen('node-1'));
    streams.break('node-1');
    await until('a third stream', () => streams.opened.length === 3 && streams.isOpen('node-1'));
    streams.break('node-1');
    clock.advance(20_000);
    monitor.checkHeartbeats();
    await settle();
    expect(store.objects.get('node-1')?.status?.lastError).toContain('connection refused');
    await until('a fourth stream', () => streams.isOpen('node-1'));
    streams.emit('node-1', reply('node-1'));
    await settle();
    expect(store.objects.get('node-1')?.status?.ready).toBe(true);
  });

  it('tries a failed NotReady write again at the next check', async () => {
    const { monitor, store, streams, clock } = setUp();
    await monitor.discover();
    streams.emit('node-1', reply('node-1'));
    await settle();
    clock.advance(20_000);
    store.failNext = true;
    monitor.checkHeartbeats();
    await settle();
    expect(store.objects.get('node-1')?.status?.ready).toBe(true);
    monitor.checkHeartbeats();
    await settle();
    expect(store.objects.get('node-1')?.status?.ready).toBe(false);
  });

  it('keeps a node whose agent pod is not Running, NotReady, and says so', async () => {
    const { monitor, store, streams, agents, clock } = setUp();
    await monitor.discover();
    streams.emit('node-1', reply('node-1'));
    await settle();
    agents.delete('node-1'); // the pod is still there (Pending, or being replaced)
    await monitor.discover();
    expect(streams.isOpen('node-1')).toBe(false);
    clock.advance(60_000);
    await monitor.discover();
    monitor.checkHeartbeats();
    await settle();
    expect(store.objects.get('node-1')?.status).toMatchObject({ ready: false, lastError: expect.stringContaining('the agent pod on node-1 is not Running') as string });
  });

  it('deletes the NodeAgent of a node with no agent pod after 30 s, and only its own', async () => {
    const { monitor, store, streams, agents, pods, clock } = setUp({ agents: { 'node-1': '127.0.0.2:9443', 'node-2': '127.0.0.3:9443' } });
    await monitor.discover();
    streams.emit('node-1', reply('node-1'));
    streams.emit('node-2', reply('node-2'));
    await settle();
    store.owned.delete('node-2'); // as if another coordinator had created it
    for (const n of ['node-1', 'node-2']) {
      agents.delete(n);
      pods.delete(n);
    }
    await monitor.discover();
    clock.advance(29_000);
    await monitor.discover();
    expect(store.objects.has('node-1')).toBe(true);
    clock.advance(1_000);
    await monitor.discover();
    expect(store.objects.has('node-1')).toBe(false);
    expect(store.objects.has('node-2')).toBe(true);
    expect(monitor.current()).toEqual([]);
  });

  it('deletes a NodeAgent a previous leader created for a node that has no agent pod now', async () => {
    const { monitor, store, clock } = setUp({ agents: {} });
    await store.writeStatus('node-9', () => ({ ready: true }));
    await monitor.discover();
    clock.advance(30_000);
    await monitor.discover();
    expect(store.objects.has('node-9')).toBe(false);
  });

  it('changes nothing when listing the agents fails', async () => {
    const { monitor, store, streams, agents, pods, clock, failLists } = setUp();
    await monitor.discover();
    streams.emit('node-1', reply('node-1'));
    await settle();
    failLists(true);
    agents.clear();
    pods.clear();
    clock.advance(60_000);
    await monitor.discover();
    expect(streams.isOpen('node-1')).toBe(true);
    expect(store.objects.has('node-1')).toBe(true);
  });

  it('follows an agent to its new address', async () => {
    const { monitor, streams, agents } = setUp();
    await monitor.discover();
    agents.set('node-1', { address: '127.0.0.2:9555' });
    await monitor.discover();
    await until('the new stream', () => streams.opened.at(-1)?.address === '127.0.0.2:9555');
  });
});
