// The coordinator's Prometheus metrics (prom-client). Labels are bounded: kind, namespace, phase,
// error code (the registry's closed set) and node; never a Backup's or a volume's name.
//
// Counters and histograms are fed by the informers' update events (run-events.ts); gauges are
// read from the informer caches and the node monitor when Prometheus scrapes. Only the leader's
// informers run, so a standby exports `cairn_leader 0` and process metrics only.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NodeAgentStatus } from '../../../common/src/crds.ts';
import { runEvents, type RunKind, type RunObject } from './run-events.ts';

/** What the metrics need of an informer (Informer has it). */
export interface WatchedObjects<T> {
  on(h: { update?: (obj: T, old: T) => void }): () => void;
  list(): T[];
  health(): { synced: boolean };
}

export interface LocationObject {
  metadata: { namespace?: string };
  status?: { phase?: string };
}

/** Phases of a run that is not done yet: exported as 0 rather than missing. */
const waitingPhases = ['New', 'Queued', 'InProgress'];

export const durationBuckets = [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, 43_200, 86_400];
export const waitBuckets = [0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1_800, 3_600, 7_200, 21_600];

export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly leader: Gauge<never>;
  private readonly runs: Gauge<'kind' | 'namespace' | 'phase'>;
  private readonly finished: Counter<'kind' | 'namespace' | 'phase'>;
  private readonly duration: Histogram<'kind' | 'namespace'>;
  private readonly queueDepth: Gauge<'namespace'>;
  private readonly queueWait: Histogram<'kind' | 'namespace'>;
  private readonly bytes: Counter<'kind' | 'namespace'>;
  private readonly files: Counter<'kind' | 'namespace'>;
  private readonly errors: Counter<'kind' | 'namespace' | 'code'>;
  private readonly locations: Gauge<'namespace' | 'phase'>;
  private readonly node: Record<'ready' | 'activeJobs' | 'bytesPerSecond' | 'freeBytes' | 'memoryBytes' | 'heartbeat', Gauge<'node'>>;
  private readonly runSources: Array<{ kind: RunKind; objects: WatchedObjects<RunObject> }> = [];
  private locationSource: WatchedObjects<LocationObject> | undefined;
  private nodeSource: (() => Iterable<{ node: string; status: NodeAgentStatus }>) | undefined;

  constructor(o: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.leader = new Gauge({ name: 'cairn_leader', help: '1 while this coordinator holds the leader Lease and reconciles, 0 while it waits', registers });
    this.runs = new Gauge({ name: 'cairn_runs', help: 'Backups and Restores by phase now (from the leader\'s cache)', labelNames: ['kind', 'namespace', 'phase'], registers });
    this.finished = new Counter({ name: 'cairn_runs_finished_total', help: 'Backups and Restores that reached a final phase, by that phase', labelNames: ['kind', 'namespace', 'phase'], registers });
    this.duration = new Histogram({ name: 'cairn_run_duration_seconds', help: 'From start to completion of a Backup or Restore', labelNames: ['kind', 'namespace'], buckets: durationBuckets, registers });
    this.queueDepth = new Gauge({ name: 'cairn_queue_depth', help: 'Backups and Restores waiting in the queue (phase Queued) by tenant namespace', labelNames: ['namespace'], registers });
    this.queueWait = new Histogram({ name: 'cairn_queue_wait_seconds', help: 'From creation to start of a Backup or Restore: validation and the wait for a slot', labelNames: ['kind', 'namespace'], buckets: waitBuckets, registers });
    this.bytes = new Counter({ name: 'cairn_bytes_moved_total', help: 'Logical bytes of file data in the completed volumes of finished runs (backed up or restored)', labelNames: ['kind', 'namespace'], registers });
    this.files = new Counter({ name: 'cairn_files_moved_total', help: 'Files in the completed volumes of finished runs', labelNames: ['kind', 'namespace'], registers });
    this.errors = new Counter({ name: 'cairn_errors_total', help: 'Failed volumes of finished runs by CAIRN_E_* code (a run that failed without a failed volume counts its own code)', labelNames: ['kind', 'namespace', 'code'], registers });
    this.locations = new Gauge({ name: 'cairn_backup_storage_locations', help: 'BackupStorageLocations by phase (Available, Unavailable, Unknown) per namespace', labelNames: ['namespace', 'phase'], registers });
    const nodeGauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['node'], registers });
    this.node = {
      ready: nodeGauge('cairn_node_agent_ready', '1 when the node\'s agent reported within 20 s (its NodeAgent is Ready), else 0'),
      activeJobs: nodeGauge('cairn_node_agent_active_jobs', 'Jobs running on the node, as its agent last reported'),
      bytesPerSecond: nodeGauge('cairn_node_agent_bytes_per_second', 'Throughput of all jobs on the node, as its agent last reported'),
      freeBytes: nodeGauge('cairn_node_agent_free_bytes', 'Free bytes on the filesystem of the node\'s kubelet directory'),
      memoryBytes: nodeGauge('cairn_node_agent_memory_bytes', 'Resident memory of the node\'s agent and its job processes'),
      heartbeat: nodeGauge('cairn_node_agent_last_heartbeat_timestamp_seconds', 'When the coordinator last heard from the node\'s agent (Unix seconds)'),
    };
    this.leader.set(0);
  }

  setLeader(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  /** Counts the runs of one kind as the informer sees them start and finish; reads its cache for `cairn_runs`. */
  watchRuns(kind: RunKind, objects: WatchedObjects<RunObject>): () => void {
    this.runSources.push({ kind, objects });
    return objects.on({ update: (obj, old) => this.observe(kind, obj, old) });
  }

  watchLocations(objects: WatchedObjects<LocationObject>): void {
    this.locationSource = objects;
  }

  watchNodes(source: () => Iterable<{ node: string; status: NodeAgentStatus }>): void {
    this.nodeSource = source;
  }

  /** Counts what a change of a run means (public for tests; the informer calls it). */
  observe(kind: RunKind, obj: RunObject, old: RunObject): void {
    const { started, finished } = runEvents(kind, obj, old);
    if (started) this.queueWait.observe({ kind, namespace: started.namespace }, started.waitSeconds);
    if (finished) {
      const l = { kind, namespace: finished.namespace };
      this.finished.inc({ ...l, phase: finished.phase });
      if (finished.durationSeconds !== undefined) this.duration.observe(l, finished.durationSeconds);
      this.bytes.inc(l, finished.bytes);
      this.files.inc(l, finished.files);
      for (const [code, n] of finished.errors) this.errors.inc({ ...l, code }, n);
    }
  }

  /** The exposition text, with the gauges read from their sources now. */
  async render(): Promise<string> {
    this.refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private refresh(): void {
    this.runs.reset();
    this.queueDepth.reset();
    for (const { kind, objects } of this.runSources) {
      if (!objects.health().synced) continue;
      const counts = new Map<string, number>();
      for (const o of objects.list()) {
        const ns = o.metadata.namespace ?? '';
        const phase = o.status?.phase ?? 'New';
        // The phases before the end are always there for a namespace with runs, 0 when empty.
        for (const waiting of waitingPhases) if (!counts.has(`${ns}\0${waiting}`)) counts.set(`${ns}\0${waiting}`, 0);
        const key = `${ns}\0${phase}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        // Every namespace with runs has a depth, 0 when nothing waits.
        this.queueDepth.inc({ namespace: ns }, phase === 'Queued' ? 1 : 0);
      }
      for (const [key, n] of counts) {
        const [namespace, phase] = key.split('\0') as [string, string];
        this.runs.set({ kind, namespace, phase }, n);
      }
    }
    this.locations.reset();
    if (this.locationSource?.health().synced) {
      for (const l of this.locationSource.list()) {
        const namespace = l.metadata.namespace ?? '';
        const phase = l.status?.phase === 'Available' || l.status?.phase === 'Unavailable' ? l.status.phase : 'Unknown';
        for (const p of ['Available', 'Unavailable']) this.locations.inc({ namespace, phase: p }, 0);
        this.locations.inc({ namespace, phase });
      }
    }
    for (const g of Object.values(this.node)) g.reset();
    for (const { node, status } of this.nodeSource?.() ?? []) {
      this.node.ready.set({ node }, status.ready ? 1 : 0);
      this.node.activeJobs.set({ node }, status.activeJobs ?? 0);
      this.node.bytesPerSecond.set({ node }, status.bytesPerSecond ?? 0);
      if (status.freeBytes !== undefined) this.node.freeBytes.set({ node }, status.freeBytes);
      if (status.memoryBytes !== undefined) this.node.memoryBytes.set({ node }, status.memoryBytes);
      if (status.lastHeartbeatTime) this.node.heartbeat.set({ node }, Date.parse(status.lastHeartbeatTime) / 1000);
    }
  }
}
