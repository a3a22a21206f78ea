// Runs reconcilers: each binding is an informer whose events enqueue object keys on a work queue
// whose handler reconciles one key. Informers shared by several bindings (Pods, PVCs) are started
// once. Workers start only after every informer has its first list, so a reconcile never sees a
// half-filled cache; then every cached key is enqueued once, and every key again each resync
// period (a safety net: reconciles of final objects are skipped cheaply). Stops on its signal:
// no new work, running reconciles see the signal, informers stop; run() resolves when all did.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { CairnKind } from '../../../common/src/crds.ts';
import type { Logger } from '../../../common/src/logger.ts';
import type { BackoffOptions } from './backoff.ts';
import type { Informer, InformerHealth } from './informer.ts';
import { reconcileKey, type PhaseReconciler, type ReconcileDeps } from './reconciler.ts';
import { queueKey, WorkQueue, type KeyHandler } from './work-queue.ts';

export interface Watch {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any kind of object
  informer: Informer<any>;
  /** Keys of the binding's objects to reconcile when this object changes. */
  keys: (obj: KubernetesObject) => string[];
}

export interface ControllerBinding {
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any kind of object
  informer: Informer<any>;
  handle: KeyHandler;
  /** Reconciles at once over different keys. Default 4. */
  concurrency?: number;
  /** Other informers whose changes enqueue keys of this binding (a BSL's change -> its Backups). */
  watches?: Watch[];
}

export interface ControllerOptions {
  bindings: ControllerBinding[];
  logger: Logger;
  /** Every key is enqueued again this often. Default 10 min; 0 turns it off. */
  resyncMs?: number;
  /** Per-key retry delays after a reconcile fails. */
  backoff?: BackoffOptions;
}

export interface ControllerHealth {
  synced: boolean;
  informers: InformerHealth[];
  queues: { name: string; queued: number; inFlight: number; delayed: number }[];
}

/** A binding that runs a phase reconciler for the keys of its informer. */
export function phaseReconcilerBinding<K extends CairnKind, P extends string>(r: PhaseReconciler<K, P>, deps: ReconcileDeps<K>, opts: { concurrency?: number; watches?: Watch[] } = {}): ControllerBinding {
  return {
    name: r.kind,
    informer: deps.informer,
    handle: (key, signal) => reconcileKey(r, deps, key, signal),
    ...opts,
  };
}

export class Controller {
  private readonly o: ControllerOptions;
  private readonly queues = new Map<string, WorkQueue>();
  private synced = false;
  private running = false;

  constructor(o: ControllerOptions) {
    const names = new Set<string>();
    for (const b of o.bindings) {
      if (names.has(b.name)) throw new TypeError(`two controller bindings are named ${b.name}`);
      names.add(b.name);
    }
    this.o = o;
  }

  private informers(): Informer[] {
    const all = new Set<Informer>();
    for (const b of this.o.bindings) {
      all.add(b.informer as Informer);
      for (const w of b.watches ?? []) all.add(w.informer as Informer);
    }
    return [...all];
  }

  /** Adds a key to a binding's queue from outside (an agent's status stream, a timer). */
  enqueue(binding: string, key: string): void {
    this.queues.get(binding)?.add(key);
  }

  health(): ControllerHealth {
    return {
      synced: this.synced,
      informers: this.informers().map((i) => i.health()),
      queues: [...this.queues].map(([name, q]) => ({ name, queued: q.length, inFlight: q.inFlight, delayed: q.delayed })),
    };
  }

  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error('the controller is already running');
    this.running = true;
    const log = this.o.logger;
    const unsubscribe: (() => void)[] = [];
    // Handlers enqueue only once the queues exist (after the first lists); the keys cached by then
    // are enqueued in one go below, and JS runs nothing in between, so no event is lost.
    for (const b of this.o.bindings) {
      const add = (key: string) => this.queues.get(b.name)?.add(key);
      const own = (obj: KubernetesObject) => add(queueKey(obj));
      unsubscribe.push(b.informer.on({ add: own, update: own, delete: own }));
      for (const w of b.watches ?? []) {
        const mapped = (obj: KubernetesObject) => {
          for (const k of w.keys(obj)) add(k);
        };
        unsubscribe.push(w.informer.on({ add: mapped, update: mapped, delete: mapped }));
      }
    }
    const informers = this.informers();
    for (const i of informers) i.start(signal);
    let resync: NodeJS.Timeout | undefined;
    try {
      log.info({ informers: informers.map((i) => i.health().resource) }, 'waiting for the caches to fill');
      await Promise.all(informers.map((i) => i.waitForSync(signal)));
      this.synced = true;
      for (const b of this.o.bindings) {
        const q = new WorkQueue({
          handler: b.handle,
          concurrency: b.concurrency ?? 4,
          signal,
          ...(this.o.backoff ? { backoff: this.o.backoff } : {}),
          onError: (key, err, retryInMs) => log.warn({ binding: b.name, key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'reconcile failed; retrying'),
        });
        this.queues.set(b.name, q);
        for (const key of b.informer.keys()) q.add(key);
      }
      const every = this.o.resyncMs ?? 10 * 60_000;
      if (every > 0) {
        resync = setInterval(() => {
          for (const b of this.o.bindings) for (const key of b.informer.keys()) this.queues.get(b.name)?.add(key);
        }, every);
      }
      log.info({ bindings: this.o.bindings.map((b) => b.name) }, 'controller running');
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      clearInterval(resync);
      for (const u of unsubscribe) u();
      await Promise.all([...this.queues.values()].map((q) => q.stop()));
      await Promise.all(informers.map((i) => i.stop()));
      this.queues.clear();
      this.synced = false;
      this.running = false;
      log.info('controller stopped');
    }
  }
}
