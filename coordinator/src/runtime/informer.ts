// A watch-based cache of one kind over the watched namespaces, which restarts after errors.
//
// One informer per kind, cluster-wide (one list+watch), filtered by namespace on arrival: only
// objects of watched namespaces are kept or reported, so memory follows the watched objects; a
// list is paged so a cluster's other objects pass through a page at a time. Why not one watch per
// namespace: see docs/coordinator.md ("Informers").
//
// The loop: list (paged) -> watch from the list's resourceVersion with bookmarks -> when the
// server ends the watch, watch again from the last resourceVersion; on 410 Gone (the version is
// compacted away) list again and report the difference as add/update/delete; on any other error
// (connection broken, refused, 5xx, nothing received for too long) wait with exponential backoff
// and jitter, then resume. client-node's ListWatch stops for good on an error; this does not.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../../common/src/logger.ts';
import { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.ts';
import { getJson, KubeHttpError, resourcePath, watchStream, type ResourceType, type WatchEvent } from './kube-http.ts';
import type { NamespaceFilter } from './namespace-filter.ts';
import { queueKey } from './work-queue.ts';

export type { ResourceType } from './kube-http.ts';

export interface InformerHandlers<T> {
  add?: (obj: T) => void;
  update?: (obj: T, old: T) => void;
  /** The last state the informer knew (a relist may find an object gone without its final state). */
  delete?: (obj: T) => void;
}

export interface InformerOptions<T> {
  kubeConfig: KubeConfig;
  resource: ResourceType;
  /** Which namespaces to keep; ignored for cluster-scoped kinds. Absent: all. */
  namespaces?: NamespaceFilter;
  labelSelector?: string;
  fieldSelector?: string;
  /** Applied to each object before it is cached. Default: drop metadata.managedFields. */
  transform?: (obj: T) => T;
  logger?: Logger;
  backoff?: BackoffOptions;
  /** List page size. */
  pageSize?: number;
  /** The server ends each watch after a random time in [min, 2*min) seconds (as client-go). */
  watchTimeoutSeconds?: number;
  /** A watch that receives nothing for this long is treated as broken. */
  idleTimeoutMs?: number;
}

export interface InformerHealth {
  resource: string;
  /** A first complete list has been cached. */
  synced: boolean;
  /** A watch is open now. */
  watching: boolean;
  /** The last time the cache was known current: a list completed, or a watch event or bookmark arrived. */
  lastSyncTime: Date | undefined;
  lastListTime: Date | undefined;
  /** Times the loop started over after an error or a 410 Gone. */
  restarts: number;
  /** Complete lists, the first one included. */
  relists: number;
  /** Errors since the last success; 0 when healthy. */
  consecutiveFailures: number;
  lastError: string | undefined;
  objects: number;
}

interface ListPage<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** Ends a watch whose resourceVersion is too old: the loop lists again, without backoff. */
class Expired extends Error {}

/** The cache key of an object: the work queue's key (`namespace/name`, or `name`). */
export const objectKey = queueKey;

function stripManagedFields<T>(obj: T): T {
  const m = (obj as KubernetesObject).metadata;
  if (m?.managedFields) delete m.managedFields;
  return obj;
}

export class Informer<T extends KubernetesObject = KubernetesObject> {
  readonly resource: ResourceType;
  private readonly o: InformerOptions<T>;
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private resourceVersion = '';
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private syncWaiters: (() => void)[] = [];
  private readonly h: Omit<InformerHealth, 'objects' | 'resource'> = {
    synced: false, watching: false, lastSyncTime: undefined, lastListTime: undefined, restarts: 0, relists: 0, consecutiveFailures: 0, lastError: undefined,
  };

  constructor(o: InformerOptions<T>) {
    this.o = o;
    this.resource = o.resource;
  }

  private get name(): string {
    return this.resource.group ? `${this.resource.plural}.${this.resource.group}` : this.resource.plural;
  }

  /** Handlers run synchronously in event order; keep them short (enqueue a key). */
  on(h: InformerHandlers<T>): () => void {
    this.handlers.push(h);
    return () => {
      const i = this.handlers.indexOf(h);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  health(): InformerHealth {
    return { resource: this.name, ...this.h, objects: this.cache.size };
  }

  /** Starts the loop in the background; it runs until stop() or the signal. */
  start(signal?: AbortSignal): void {
    if (this.loop) return;
    this.controller = new AbortController();
    const s = signal ? AbortSignal.any([signal, this.controller.signal]) : this.controller.signal;
    this.loop = this.run(s);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** Resolves once the first list is cached; rejects when the signal fires first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.h.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(waiter);
    });
  }

  private emit<K extends keyof InformerHandlers<T>>(kind: K, ...args: Parameters<NonNullable<InformerHandlers<T>[K]>>): void {
    for (const h of this.handlers) {
      const fn = h[kind] as ((...a: unknown[]) => void) | undefined;
      try {
        fn?.(...args);
      } catch (err) {
        this.o.logger?.error({ err, resource: this.name }, 'informer handler threw');
      }
    }
  }

  private keep(obj: T): boolean {
    if (!this.resource.namespaced || !this.o.namespaces) return true;
    return this.o.namespaces(obj.metadata?.namespace ?? '');
  }

  private upsert(raw: T): void {
    const obj = (this.o.transform ?? stripManagedFields)(raw);
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    this.cache.set(key, obj);
    if (old) this.emit('update', obj, old);
    else this.emit('add', obj);
  }

  private remove(obj: T): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (!old) return;
    this.cache.delete(key);
    this.emit('delete', old);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const log = this.o.logger?.child({ resource: this.name });
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist(signal);
        await this.watchOnce(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.h.watching = false;
        this.h.restarts++;
        if (err instanceof Expired) {
          log?.info({ resourceVersion: this.resourceVersion }, 'watch expired (410 Gone): listing again');
          this.resourceVersion = '';
          // A relist right after a relist that expired again would spin: back off then.
          if (this.h.consecutiveFailures === 0) {
            this.h.consecutiveFailures = 1;
            continue;
          }
        }
        this.h.consecutiveFailures++;
        this.h.lastError = err instanceof Error ? err.message : String(err);
        const delay = backoffDelay(this.h.consecutiveFailures, this.o.backoff ?? defaultBackoff);
        log?.warn({ err: this.h.lastError, failures: this.h.consecutiveFailures, delayMs: delay }, 'informer failed; restarting after backoff');
        await sleep(delay, undefined, { signal }).catch(() => {});
      }
    }
    this.h.watching = false;
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const seen = new Set<string>();
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await getJson<ListPage<T>>(this.o.kubeConfig, resourcePath(this.resource), {
        limit: this.o.pageSize ?? 500, continue: cont, labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector,
      }, signal);
      for (const item of page.items ?? []) {
        if (!this.keep(item)) continue;
        seen.add(objectKey(item));
        this.upsert(item);
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont);
    for (const [key, obj] of this.cache) if (!seen.has(key)) this.remove(obj);
    this.resourceVersion = rv;
    const now = new Date();
    this.h.lastListTime = now;
    this.h.lastSyncTime = now;
    this.h.relists++;
    if (!this.h.synced) {
      this.h.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const min = this.o.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min + Math.random() * min);
    const onEvent = (e: WatchEvent): void => {
      if (e.type === 'ERROR') {
        const code = typeof e.object.code === 'number' ? e.object.code : 500;
        const message = typeof e.object.message === 'string' ? e.object.message : `status ${code}`;
        if (code === 410) throw new Expired(message);
        throw new KubeHttpError(code, `watch error: ${message}`, typeof e.object.reason === 'string' ? e.object.reason : undefined);
      }
      const obj = e.object as unknown as T;
      const rv = obj.metadata?.resourceVersion;
      if (e.type === 'ADDED' || e.type === 'MODIFIED') {
        // An object leaving the watched namespaces cannot happen (namespace is immutable).
        if (this.keep(obj)) this.upsert(obj);
      } else if (e.type === 'DELETED') {
        this.remove(obj);
      }
      if (rv) this.resourceVersion = rv;
      this.h.lastSyncTime = new Date();
      this.h.consecutiveFailures = 0;
      this.h.lastError = undefined;
    };
    // A watch that stays open this long counts as a success even when nothing happens; one that
    // the server accepts and then drops at once does not, so the backoff keeps growing.
    let healthy: NodeJS.Timeout | undefined;
    try {
      await watchStream(this.o.kubeConfig, resourcePath(this.resource), {
        resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds,
        labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector,
      }, onEvent, {
        signal,
        idleTimeoutMs: this.o.idleTimeoutMs ?? 150_000,
        onOpen: () => {
          this.h.watching = true;
          healthy = setTimeout(() => {
            this.h.consecutiveFailures = 0;
            this.h.lastError = undefined;
          }, 2_000);
          healthy.unref();
        },
      });
    } catch (err) {
      if (err instanceof KubeHttpError && err.code === 410) throw new Expired(err.message);
      throw err;
    } finally {
      clearTimeout(healthy);
    }
    this.h.watching = false;
  }
}
