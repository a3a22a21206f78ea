// The admin's view of the nodes: one cluster-scoped NodeAgent per node with an agent, kept from
// that agent's status stream (docs/operations.md "Monitoring"). Runs on the leader only.
//
// - Every `discoverEveryMs` the agent directory says which agents run (Running DaemonSet pods
//   with an address) and the DaemonSet's pods say which nodes have an agent pod at all. Each
//   running agent gets a status stream (reconnected with backoff when it breaks or stays silent).
// - Each report is written at once when it changes something an admin looks at (ready, version,
//   jobs and their progress, last error), otherwise at most every `heartbeatWriteMs`.
// - A node not heard from for `notReadyAfterMs` turns NotReady (a killed agent, a node gone dark,
//   an agent pod not Running); the next report makes it Ready again.
// - A node with no agent pod at all for `removeAfterMs` loses its NodeAgent (only one this
//   coordinator created).
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeAgent, NodeAgentStatus } from '../../../common/src/crds.ts';
import type { NodeStatusReply } from '../../../common/src/generated/proto/agent.ts';
import type { Logger } from '../../../common/src/logger.ts';
import { backoffDelay, type BackoffOptions } from '../runtime/backoff.ts';
import type { StatusStreams } from './agent-sources.ts';
import type { NodeAgentStore } from './node-agent-store.ts';
import { meaningfulChange, notReadyStatus, readyStatus } from './node-agent-status.ts';

export interface NodeMonitorOptions {
  /** The running agents by node (AgentDirectory.list). */
  agents: () => Promise<ReadonlyMap<string, { address: string }>>;
  /** Nodes with an agent pod in any phase. */
  agentPodNodes: () => Promise<ReadonlySet<string>>;
  streams: StatusStreams;
  store: NodeAgentStore;
  /** The PVC name of a PV, for the jobs' `volume`. */
  pvcOf?: (pv: string) => Promise<string | undefined>;
  /** Ready/NotReady changes as Events (on the NodeAgent, in the admin namespace). */
  events?: { record(obj: NodeAgent, type: 'Normal' | 'Warning', reason: string, message: string): void };
  logger: Logger;
  now?: () => number;
  /** Interval the agents report at. Default 5 s. */
  statusIntervalMs?: number;
  /** Silence after which a node is NotReady. Default 20 s (four missed reports). */
  notReadyAfterMs?: number;
  /** An unchanged status is written this often (the heartbeat). Default 10 s. */
  heartbeatWriteMs?: number;
  /** Default 5 s. */
  discoverEveryMs?: number;
  /** A node without any agent pod loses its NodeAgent after this. Default 30 s. */
  removeAfterMs?: number;
  /** Between attempts to open a status stream. Default 1 s doubling to 5 s. */
  reconnect?: BackoffOptions;
}

interface NodeState {
  node: string;
  /** When this process started tracking the node: the reference for "never heard from". */
  since: number;
  watcher?: { address: string; abort: AbortController; done: Promise<void> };
  lastReportAt?: number;
  lastProblem?: string;
  /** What this process wrote last (undefined: nothing yet) and when. */
  written?: NodeAgentStatus;
  writtenAt: number;
  /** The latest status known, written or not: what metrics show. */
  view?: NodeAgentStatus;
  pending?: (current: NodeAgentStatus) => NodeAgentStatus;
  flushing?: Promise<void>;
  /** Since when the node has had no agent pod at all. */
  missingSince?: number;
}

export class NodeMonitor {
  private readonly o: NodeMonitorOptions;
  private readonly now: () => number;
  private readonly nodes = new Map<string, NodeState>();
  private readonly stopping = new AbortController();
  private discovering = false;

  constructor(o: NodeMonitorOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  private get statusIntervalMs(): number {
    return this.o.statusIntervalMs ?? 5_000;
  }

  private get notReadyAfterMs(): number {
    return this.o.notReadyAfterMs ?? 20_000;
  }

  /** Discovers, watches and checks heartbeats until the signal aborts; then stops every stream. */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const stop = () => this.stopping.abort();
    signal.addEventListener('abort', stop, { once: true });
    await this.discover();
    const discoverTimer = setInterval(() => void this.discover(), this.o.discoverEveryMs ?? 5_000);
    const heartbeatTimer = setInterval(() => this.checkHeartbeats(), 1_000);
    try {
      await new Promise<void>((resolve) => {
        if (this.stopping.signal.aborted) resolve();
        else this.stopping.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      clearInterval(discoverTimer);
      clearInterval(heartbeatTimer);
      signal.removeEventListener('abort', stop);
      await this.close();
    }
  }

  /** Stops every stream and waits for pending writes. */
  async close(): Promise<void> {
    this.stopping.abort();
    const waits: Promise<unknown>[] = [];
    for (const s of this.nodes.values()) {
      s.watcher?.abort.abort();
      if (s.watcher) waits.push(s.watcher.done);
      if (s.flushing) waits.push(s.flushing);
    }
    await Promise.allSettled(waits);
  }

  /** The latest status of each tracked node (for metrics). */
  current(): Array<{ node: string; status: NodeAgentStatus }> {
    return [...this.nodes.values()].filter((s) => s.view).map((s) => ({ node: s.node, status: s.view! }));
  }

  /** One round of discovery: start and stop streams, track and remove nodes. Never throws. */
  async discover(): Promise<void> {
    if (this.discovering || this.stopping.signal.aborted) return;
    this.discovering = true;
    try {
      let running: ReadonlyMap<string, { address: string }>;
      let withPods: ReadonlySet<string>;
      let owned: string[];
      try {
        [running, withPods, owned] = await Promise.all([this.o.agents(), this.o.agentPodNodes(), this.o.store.listOwned()]);
      } catch (err) {
        this.o.logger.warn({ err }, 'node monitor: listing the agents failed; trying again');
        return;
      }
      const now = this.now();
      for (const [node, a] of running) {
        const s = this.track(node, now);
        s.missingSince = undefined;
        if (s.watcher?.address !== a.address) this.watch(s, a.address);
      }
      for (const node of new Set([...withPods, ...owned])) this.track(node, now);
      for (const s of [...this.nodes.values()]) {
        if (running.has(s.node)) continue;
        if (s.watcher) {
          s.watcher.abort.abort();
          s.watcher = undefined;
        }
        if (withPods.has(s.node)) {
          s.missingSince = undefined;
          s.lastProblem = `the agent pod on ${s.node} is not Running`;
          continue;
        }
        s.missingSince ??= now;
        s.lastProblem = `no agent pod on ${s.node}`;
        if (now - s.missingSince < (this.o.removeAfterMs ?? 30_000)) continue;
        this.nodes.delete(s.node);
        if (!owned.includes(s.node)) continue; // another coordinator's: not ours to delete
        await s.flushing;
        try {
          await this.o.store.delete(s.node);
          this.o.logger.info({ node: s.node }, 'node has no agent pod any more; NodeAgent deleted');
        } catch (err) {
          this.o.logger.warn({ err, node: s.node }, 'deleting the NodeAgent failed; trying again');
          this.track(s.node, now).missingSince = s.missingSince;
        }
      }
    } finally {
      this.discovering = false;
    }
  }

  /** Turns every node not heard from for `notReadyAfterMs` NotReady (once). */
  checkHeartbeats(): void {
    const now = this.now();
    for (const s of this.nodes.values()) {
      const last = s.lastReportAt ?? s.since;
      if (now - last < this.notReadyAfterMs) continue;
      // Already NotReady, written or being written (a failed write is tried again here).
      if (s.view?.ready === false && (s.flushing !== undefined || s.written?.ready === false)) continue;
      const silent = Math.round((now - last) / 1000);
      const heard = s.lastReportAt ? `no status from the agent for ${silent} s` : `no status from the agent since the coordinator started watching ${silent} s ago`;
      const why = s.lastProblem ? `${heard}: ${s.lastProblem}` : heard;
      this.o.logger.warn({ node: s.node, why }, 'node agent NotReady');
      s.view = notReadyStatus(s.node, s.view ?? s.written ?? {}, why);
      this.schedule(s, (cur) => notReadyStatus(s.node, cur, why));
    }
  }

  /** A report from the agent of `node` (the stream's callback; public for tests). */
  async report(node: string, r: NodeStatusReply): Promise<void> {
    const s = this.nodes.get(node);
    if (!s) return;
    const now = this.now();
    s.lastReportAt = now;
    s.lastProblem = undefined;
    const pvcs = new Map<string, string>();
    if (this.o.pvcOf) {
      for (const j of r.activeJobs) {
        const pvc = await this.o.pvcOf(j.pvName);
        if (pvc) pvcs.set(j.pvName, pvc);
      }
    }
    const next = readyStatus(node, r, new Date(now), pvcs);
    s.view = next;
    const due = s.written?.ready !== true || meaningfulChange(s.written, next) || now - s.writtenAt >= (this.o.heartbeatWriteMs ?? 10_000);
    if (due) this.schedule(s, () => next);
  }

  private track(node: string, now: number): NodeState {
    let s = this.nodes.get(node);
    if (!s) {
      s = { node, since: now, writtenAt: 0 };
      this.nodes.set(node, s);
    }
    return s;
  }

  /** Writes the latest wanted status; writes of one node run one at a time, the newest wins. */
  private schedule(s: NodeState, mutate: (current: NodeAgentStatus) => NodeAgentStatus): void {
    s.pending = mutate;
    if (s.flushing) return;
    s.flushing = (async () => {
      while (s.pending) {
        const m = s.pending;
        s.pending = undefined;
        await this.write(s, m);
      }
    })().finally(() => {
      s.flushing = undefined;
    });
  }

  private async write(s: NodeState, mutate: (current: NodeAgentStatus) => NodeAgentStatus): Promise<void> {
    const before = s.written?.ready;
    try {
      const obj = await this.o.store.writeStatus(s.node, mutate, this.stopping.signal);
      s.written = obj.status ?? {};
      s.writtenAt = this.now();
      const after = s.written.ready;
      if (after === false && before !== false) this.o.events?.record(obj, 'Warning', 'AgentNotReady', `agent on ${s.node} is NotReady: ${s.written.lastError ?? ''}`);
      if (after === true && before === false) {
        this.o.events?.record(obj, 'Normal', 'AgentReady', `agent on ${s.node} reports again`);
        this.o.logger.info({ node: s.node }, 'node agent Ready again');
      }
    } catch (err) {
      if (this.stopping.signal.aborted) return;
      this.o.logger.warn({ err, node: s.node }, 'writing the NodeAgent status failed; the next report tries again');
      s.writtenAt = 0;
    }
  }

  /** Keeps a status stream open to the agent at `address` until the node is dropped or the monitor stops. */
  private watch(s: NodeState, address: string): void {
    s.watcher?.abort.abort();
    const abort = new AbortController();
    const stop = () => abort.abort();
    this.stopping.signal.addEventListener('abort', stop, { once: true });
    const done = this.watchLoop(s.node, address, abort.signal).finally(() => this.stopping.signal.removeEventListener('abort', stop));
    s.watcher = { address, abort, done };
  }

  private async watchLoop(node: string, address: string, signal: AbortSignal): Promise<void> {
    // A stream that delivers nothing for this long is taken as hung and opened again.
    const idleMs = Math.max(3 * this.statusIntervalMs, this.notReadyAfterMs);
    let failures = 0;
    while (!signal.aborted) {
      const attempt = new AbortController();
      const onAbort = () => attempt.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      let heard = false;
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => attempt.abort(), idleMs);
      };
      arm();
      let problem: string;
      try {
        await this.o.streams(node, address, this.statusIntervalMs, (r) => {
          heard = true;
          arm();
          void this.report(node, r).catch((err: unknown) => this.o.logger.warn({ err, node }, 'handling a node status failed'));
        }, attempt.signal);
        problem = attempt.signal.aborted ? `the status stream was silent for ${Math.round(idleMs / 1000)} s` : 'the agent ended its status stream';
      } catch (err) {
        problem = `status stream: ${(err as Error).message}`;
      } finally {
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
      }
      if (signal.aborted) return;
      const s = this.nodes.get(node);
      if (s) s.lastProblem = problem;
      failures = heard ? 1 : failures + 1;
      this.o.logger.debug({ node, problem, failures }, 'node status stream ended; reconnecting');
      await sleep(backoffDelay(failures, this.o.reconnect ?? { initialMs: 1_000, maxMs: 5_000 }), undefined, { signal }).catch(() => {});
    }
  }
}
