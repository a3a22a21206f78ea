// The shape of every Cairn reconciler (CONVENTIONS "Controllers", after Velero's
// PodVolumeBackupReconciler and Pepr's reconciler): a phase state machine over the CR's status.
//
//   get the object (from the informer's cache; gone means nothing to do)
//   -> deletion: run finalize() while our finalizer is on it, then remove the finalizer
//   -> make sure our finalizer is on it
//   -> skip when metadata.generation === status.observedGeneration and the phase is final
//   -> reconcile(obj, phase): the reconciler's `switch (phase)`
//
// The cache may be a step behind the API server (our own last status write may not have arrived
// yet), so a reconciler moves between phases with ctx.transition(from, to): the status writer
// re-reads the object and writes only when the stored phase is still `from`. A reconcile that
// acted on a stale copy then writes nothing, and side effects that follow a transition happen once.
// Job state lives in status only, so a restarted coordinator resumes from there.
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PLURALS, VERSION, isNamespaced, type CairnKind } from '../../../common/src/crds.ts';
import type { Logger } from '../../../common/src/logger.ts';
import type { EventRecorder, EventType } from './events.ts';
import type { Informer } from './informer.ts';
import { updateStatusWithRetry, type ObjectOf, type StatusMutator, type StatusOf, type StatusWriteResult } from './status-writer.ts';
import { splitKey, type ReconcileResult } from './work-queue.ts';

export type { ReconcileResult } from './work-queue.ts';

export interface ReconcileContext<K extends CairnKind, P extends string> {
  readonly key: string;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Status write for this object (uid-guarded), recording the generation this reconcile acted on. */
  updateStatus(mutate: StatusMutator<K>): Promise<StatusWriteResult<K>>;
  /**
   * Moves the phase from `from` to `to` (applying `also` in the same write) only when the stored
   * phase is still `from` (undefined: no phase yet). Resolves whether it moved.
   */
  transition(from: P | undefined, to: P, also?: (status: StatusOf<K>) => void): Promise<boolean>;
  /** A Kubernetes Event regarding this object: a CamelCase reason and a message, nothing secret. */
  event(type: EventType, reason: string, message: string): void;
}

export interface PhaseReconciler<K extends CairnKind, P extends string> {
  readonly kind: K;
  /** A finalizer this reconciler owns: put on every object, removed once finalize() succeeds. */
  readonly finalizer?: string;
  phaseOf(obj: ObjectOf<K>): P | undefined;
  isFinal(phase: P | undefined): boolean;
  /** Cleans up a deleted object; return a requeue to keep the finalizer and come back later. */
  finalize?(obj: ObjectOf<K>, ctx: ReconcileContext<K, P>): Promise<ReconcileResult>;
  /** The state machine: `switch (phase)`. */
  reconcile(obj: ObjectOf<K>, phase: P | undefined, ctx: ReconcileContext<K, P>): Promise<ReconcileResult>;
}

export interface ReconcileDeps<K extends CairnKind> {
  informer: Informer<ObjectOf<K>>;
  api: CustomObjectsApi;
  events: EventRecorder;
  logger: Logger;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Sets metadata.finalizers, failing with 409 when the object changed since `obj` was read. */
async function patchFinalizers<K extends CairnKind>(api: CustomObjectsApi, kind: K, obj: ObjectOf<K>, finalizers: string[]): Promise<ObjectOf<K>> {
  const target = { group: GROUP, version: VERSION, plural: PLURALS[kind], name: obj.metadata.name! };
  const body = { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } };
  return (isNamespaced(kind)
    ? await api.patchNamespacedCustomObject({ ...target, namespace: obj.metadata.namespace!, body }, mergePatch)
    : await api.patchClusterCustomObject({ ...target, body }, mergePatch)) as ObjectOf<K>;
}

/** One reconcile of one key: the skeleton above around the reconciler's own steps. */
export async function reconcileKey<K extends CairnKind, P extends string>(r: PhaseReconciler<K, P>, deps: ReconcileDeps<K>, key: string, signal: AbortSignal): Promise<ReconcileResult> {
  let obj = deps.informer.getByKey(key);
  if (!obj) return; // deleted; a finalizer made sure its cleanup ran first
  const { namespace, name } = splitKey(key);
  const log = deps.logger.child({ kind: r.kind, namespace, name });
  let current = obj;
  const ctx: ReconcileContext<K, P> = {
    key, signal, log,
    updateStatus: (mutate) => updateStatusWithRetry(deps.api, { kind: r.kind, namespace, name, uid: current.metadata.uid }, mutate, { observedGeneration: current.metadata.generation, signal }),
    transition: async (from, to, also) => {
      const res = await ctx.updateStatus((s) => {
        if ((s as { phase?: P }).phase !== from) return false;
        (s as { phase?: P }).phase = to;
        also?.(s);
      });
      if (res.written) log.debug({ from, to }, 'phase');
      return res.written;
    },
    event: (type, reason, message) => deps.events.record(current, type, reason, message),
  };
  try {
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp) {
      if (!r.finalizer || !finalizers.includes(r.finalizer)) return;
      const result = await r.finalize?.(obj, ctx);
      if (result) return result;
      await patchFinalizers(deps.api, r.kind, obj, finalizers.filter((f) => f !== r.finalizer));
      return;
    }
    if (r.finalizer && !finalizers.includes(r.finalizer)) {
      obj = await patchFinalizers(deps.api, r.kind, obj, [...finalizers, r.finalizer]);
      current = obj;
    }
    const phase = r.phaseOf(obj);
    const observed = (obj.status as { observedGeneration?: number } | undefined)?.observedGeneration;
    if (obj.metadata.generation !== undefined && obj.metadata.generation === observed && r.isFinal(phase)) return;
    return await r.reconcile(obj, phase, ctx);
  } catch (err) {
    // The cache was behind (a finalizer patch with an old resourceVersion): the newer object is
    // on its way through the informer, which enqueues the key again. Not worth an error.
    if (httpCode(err) === 409) {
      log.debug('conflict on a stale copy; retrying');
      return { requeue: true };
    }
    throw err;
  }
}
