// Kubernetes Events on Cairn's CRs, so `kubectl describe backup x` tells a tenant what happened.
//
// events.k8s.io/v1 rather than core v1: it is the current Events API (client-go's new recorder),
// it names the object in `regarding` and the reporter in reportingController/reportingInstance
// (which replica of the coordinator said it), and it has `series` for repeats. The API server
// stores both APIs' Events as the same objects, so `kubectl describe` and `kubectl get events`
// (core v1) show these too.
//
// An event is a reason (CamelCase) and a message, nothing else of the object: the regarding
// reference carries kind, name, namespace, uid and resourceVersion only. Messages are written by
// the coordinator's code; they must never hold a credential or a response body from a tenant's
// endpoint (DESIGN 3.7, 3.8). The same event (object, type, reason, action, message) recorded
// again within the window does not create another Event: the first one's series counts it.
import { randomBytes } from 'node:crypto';
import { EventsV1Api, PatchStrategy, setHeaderOptions, V1MicroTime, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../../common/src/logger.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  /** reportingController, e.g. `cairn.dev/coordinator`. */
  controller: string;
  /** reportingInstance: which coordinator replica (its pod name). */
  instance: string;
  /** Namespace of Events about cluster-scoped objects (NodeAgents): the admin namespace. */
  clusterScopedNamespace: string;
  /** Repeats within this long of the first occurrence collapse into one Event. Default 5 min. */
  windowMs?: number;
  /** A repeat updates the Event's series at most this often. Default 10 s. */
  seriesFlushMs?: number;
  /** Distinct events remembered for deduplication. Default 4096. */
  maxEntries?: number;
  logger?: Logger;
}

interface Entry {
  name: string;
  namespace: string;
  first: number;
  count: number;
  reported: number;
  last: Date;
  created: Promise<boolean>;
  timer?: NodeJS.Timeout;
}

const reasonPattern = /^[A-Z][A-Za-z0-9]{0,127}$/;
const maxNoteBytes = 1024;

function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = Buffer.from(s).subarray(0, max - 3).toString('utf8');
  while (Buffer.byteLength(out) > max - 3) out = out.slice(0, -1);
  return out.replace(/\uFFFD$/, '') + '...';
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class EventRecorder {
  private readonly o: EventRecorderOptions;
  private readonly api: EventsV1Api;
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(o: EventRecorderOptions) {
    this.o = o;
    this.api = o.kubeConfig.makeApiClient(EventsV1Api);
  }

  /**
   * Records an event regarding `obj`. Never throws and never waits: an Event is best effort, and
   * a failure to write one is logged, not passed to the reconciler. A malformed reason is a bug
   * and is logged as one.
   */
  record(obj: KubernetesObject, type: EventType, reason: string, message: string, action = 'Reconcile'): void {
    if (!reasonPattern.test(reason) || !reasonPattern.test(action)) {
      this.o.logger?.error({ reason, action }, 'event reason and action must be CamelCase; event dropped');
      return;
    }
    const m = obj.metadata ?? {};
    const note = truncateBytes(message, maxNoteBytes);
    const key = [m.uid ?? `${m.namespace ?? ''}/${m.name ?? ''}`, type, reason, action, note].join('\0');
    const now = Date.now();
    const seen = this.entries.get(key);
    if (seen && now - seen.first < (this.o.windowMs ?? 5 * 60_000)) {
      seen.count++;
      seen.last = new Date(now);
      if (!seen.timer) {
        seen.timer = setTimeout(() => this.track(this.patchSeries(key, seen)), this.o.seriesFlushMs ?? 10_000);
        seen.timer.unref(); // flush() writes what is pending at shutdown
      }
      return;
    }
    if (seen) this.forget(key, seen);
    this.evict(now);
    const namespace = m.namespace || this.o.clusterScopedNamespace;
    const base = (m.name ?? 'object').slice(0, 253 - 18);
    const name = `${base}.${now.toString(16)}${randomBytes(2).toString('hex')}`;
    const created = this.api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name, namespace },
        eventTime: new V1MicroTime(now),
        type, reason, action, note,
        regarding: { apiVersion: obj.apiVersion, kind: obj.kind, namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion },
        reportingController: this.o.controller,
        reportingInstance: this.o.instance,
      },
    }).then(() => true, (err: unknown) => {
      this.o.logger?.warn({ err: (err as Error).message, namespace, regarding: m.name, reason }, 'could not write an event');
      if (this.entries.get(key)?.created === created) this.entries.delete(key); // the next occurrence tries again
      return false;
    });
    this.track(created);
    this.entries.set(key, { name, namespace, first: now, count: 1, reported: 1, last: new Date(now), created });
  }

  /** Writes pending series updates now and waits for every write in flight. */
  async flush(): Promise<void> {
    for (const [key, e] of this.entries) {
      if (e.timer) {
        clearTimeout(e.timer);
        this.track(this.patchSeries(key, e));
      }
    }
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async patchSeries(key: string, e: Entry): Promise<void> {
    e.timer = undefined;
    if (!(await e.created) || e.count === e.reported) return;
    const count = e.count;
    try {
      await this.api.patchNamespacedEvent({ name: e.name, namespace: e.namespace, body: { series: { count, lastObservedTime: new V1MicroTime(e.last) } } }, mergePatch);
      e.reported = count;
    } catch (err) {
      this.o.logger?.warn({ err: (err as Error).message, event: e.name }, 'could not update an event series');
      // Gone (the API server's event TTL): the next occurrence creates a new Event.
      if (this.entries.get(key) === e) this.entries.delete(key);
    }
  }

  private forget(key: string, e: Entry): void {
    if (e.timer) {
      clearTimeout(e.timer);
      this.track(this.patchSeries(key, e));
    }
    this.entries.delete(key);
  }

  private evict(now: number): void {
    const windowMs = this.o.windowMs ?? 5 * 60_000;
    for (const [key, e] of this.entries) if (now - e.first >= windowMs) this.forget(key, e);
    const max = this.o.maxEntries ?? 4096;
    for (const [key, e] of this.entries) {
      if (this.entries.size < max) break;
      this.forget(key, e); // Map order is insertion order: the oldest go first
    }
  }
}
