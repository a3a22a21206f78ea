// The one way status is written (CONVENTIONS "Controllers", after Velero's UpdatePVBWithRetry):
// read the object, apply `mutate` to its status, skip the write when nothing changed, else
// replace the status subresource with the resourceVersion that was read. A 409 Conflict (someone
// wrote in between) means: read again and apply `mutate` again to the newer status, a bounded
// number of times. So concurrent writers never lose each other's changes, and `mutate` must be a
// pure function of the status it is given (it may run more than once).
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURALS, VERSION, isNamespaced, type CairnKind, type CairnObject } from '../../../common/src/crds.ts';
import { CairnError } from '../../../common/src/errors.ts';

export type ObjectOf<K extends CairnKind> = Extract<CairnObject, { kind: K }>;
export type StatusOf<K extends CairnKind> = NonNullable<ObjectOf<K>['status']>;

/** The calls the writer makes; a CustomObjectsApi has them (tests wrap one to count or race). */
export type StatusApi = Pick<CustomObjectsApi, 'getNamespacedCustomObjectStatus' | 'replaceNamespacedCustomObjectStatus' | 'getClusterCustomObjectStatus' | 'replaceClusterCustomObjectStatus'>;

export interface StatusRef<K extends CairnKind = CairnKind> {
  kind: K;
  /** Absent for NodeAgent (cluster-scoped). */
  namespace?: string;
  name: string;
  /** When set, a write to an object of the same name but another uid (deleted and recreated) is refused. */
  uid?: string;
}

/**
 * Changes the status in place or returns a new one. Returning `false` writes nothing: the status
 * it was given does not allow the change (a guarded phase transition found another phase).
 */
export type StatusMutator<K extends CairnKind> = (status: StatusOf<K>, obj: ObjectOf<K>) => void | StatusOf<K> | false;

export interface StatusWriteOptions {
  /** Sets status.observedGeneration to this: the generation the caller acted on. */
  observedGeneration?: number;
  /** Reads (and writes) before giving up on conflicts. Default 5. */
  maxAttempts?: number;
  signal?: AbortSignal;
}

export interface StatusWriteResult<K extends CairnKind> {
  /** The object after the write, or as read when nothing was written. */
  object: ObjectOf<K>;
  written: boolean;
  /** Rounds of read (and write) it took; 2 or more means conflicts were retried. */
  attempts: number;
}

/** Kinds whose status has observedGeneration (NodeAgent and DeleteBackupRequest do not). */
const observesGeneration: ReadonlySet<CairnKind> = new Set<CairnKind>(['Backup', 'BackupStorageLocation', 'Restore', 'Schedule']);

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The status as the API server stores it: undefined members dropped. */
function normalise<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export async function updateStatusWithRetry<K extends CairnKind>(api: StatusApi, ref: StatusRef<K>, mutate: StatusMutator<K>, o: StatusWriteOptions = {}): Promise<StatusWriteResult<K>> {
  const what = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
  const target = { group: GROUP, version: VERSION, plural: PLURALS[ref.kind], name: ref.name };
  const namespaced = isNamespaced(ref.kind);
  if (namespaced && !ref.namespace) throw new TypeError(`${what}: a namespaced kind needs a namespace`);
  const maxAttempts = o.maxAttempts ?? 5;
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    o.signal?.throwIfAborted();
    let obj: ObjectOf<K>;
    try {
      obj = (namespaced
        ? await api.getNamespacedCustomObjectStatus({ ...target, namespace: ref.namespace! })
        : await api.getClusterCustomObjectStatus(target)) as ObjectOf<K>;
    } catch (err) {
      if (httpCode(err) === 404) throw new CairnError('CAIRN_E_NOT_FOUND', `${what} no longer exists`, { cause: err });
      throw err;
    }
    if (ref.uid && obj.metadata.uid !== ref.uid) throw new CairnError('CAIRN_E_NOT_FOUND', `${what} was deleted and created again (uid ${obj.metadata.uid ?? '?'}, not ${ref.uid})`);
    const before = normalise(obj.status ?? {}) as StatusOf<K>;
    const draft = structuredClone(before);
    const returned = mutate(draft, obj);
    if (returned === false) return { object: obj, written: false, attempts: attempt };
    const next = (returned ?? draft) as StatusOf<K> & { observedGeneration?: number };
    if (o.observedGeneration !== undefined && observesGeneration.has(ref.kind)) next.observedGeneration = o.observedGeneration;
    if (isDeepStrictEqual(normalise(next), before)) return { object: obj, written: false, attempts: attempt };
    const body = { ...obj, status: next };
    try {
      const written = (namespaced
        ? await api.replaceNamespacedCustomObjectStatus({ ...target, namespace: ref.namespace!, body })
        : await api.replaceClusterCustomObjectStatus({ ...target, body })) as ObjectOf<K>;
      return { object: written, written: true, attempts: attempt };
    } catch (err) {
      const code = httpCode(err);
      if (code === 404) throw new CairnError('CAIRN_E_NOT_FOUND', `${what} no longer exists`, { cause: err });
      if (code !== 409) throw err;
      lastConflict = err;
      // Another writer won the race: read its status and apply the change to it. A little
      // jittered wait keeps two retrying writers from colliding again in lockstep.
      await sleep(Math.round(Math.random() * 20 * attempt), undefined, { signal: o.signal });
    }
  }
  throw new CairnError('CAIRN_E_INTERNAL', `status of ${what}: still conflicting after ${maxAttempts} attempts`, { cause: lastConflict });
}
