// The DeleteBackupRequest reconciler: New -> InProgress -> Processed | Failed (DESIGN 2, 3.2;
// docs/coordinator.md "Deleting backups").
//
//   New         read the Backup named by spec.backupName in the request's own namespace (live,
//               not from a cache) and decide (delete-plan.ts): refuse (Failed, with the reason),
//               or go InProgress.
//   InProgress  decide again (a restarted coordinator resumes here); mark the Backup Deleting;
//               wait while a backup of the same location or a restore of this backup runs;
//               delete the data (manifest first,
//               then the indexes, then unreferenced packs: delete-backup.ts), writing what was
//               removed into status after each step; delete the Backup object (uid-guarded);
//               Processed. A Backup already gone here was deleted by an earlier attempt: Processed.
//
// Failures that retrying can fix (storage unreachable, the GC lock busy, an API error) are thrown,
// and the work queue retries with backoff; each step tolerates what an earlier attempt did.
// Failures it cannot fix (credentials refused, bucket gone, endpoint refused) end Failed; the
// Backup then stays Deleting, and a new request deletes it once the cause is fixed.
import type { CustomObjectsApi, KubernetesObject } from '@kubernetes/client-node';
import {
  GROUP, PLURALS, VERSION, isBackupFinal, isDeleteBackupRequestFinal,
  type Backup, type BackupStorageLocation, type DeleteBackupRequest, type DeleteBackupRequestPhase, type Restore,
} from '../../../common/src/crds.ts';
import { isCairnError, type ErrorCode } from '../../../common/src/errors.ts';
import { createS3Store } from '../../../common/src/store/object-store.ts';
import { metaTime } from '../runtime/conditions.ts';
import type { Informer } from '../runtime/informer.ts';
import type { PhaseReconciler, ReconcileContext, ReconcileResult } from '../runtime/reconciler.ts';
import { updateStatusWithRetry, type StatusApi } from '../runtime/status-writer.ts';
import { isLocationError } from '../location/reasons.ts';
import { resolveLocation, storeConfigFor, type LocationDeps, type ResolvedLocation, type StoreFactory } from '../location/validate-location.ts';
import { deleteBackupData, type DeleteDataOptions, type DeleteDataResult, type DeleteStep, type Removed } from './delete-backup.ts';
import { planDeletion, restoresReading, runningBackupsOfLocation, type DeletionPlan } from './delete-plan.ts';

type Ctx = ReconcileContext<'DeleteBackupRequest', DeleteBackupRequestPhase>;

/** The API calls the reconciler makes; a CustomObjectsApi has them. */
export type DeletionApi = Pick<CustomObjectsApi, 'getNamespacedCustomObject' | 'deleteNamespacedCustomObject'> & StatusApi;

export interface DeleteBackupRequestReconcilerDeps {
  api: DeletionApi;
  backups: Pick<Informer<Backup>, 'list'>;
  locations: Pick<Informer<BackupStorageLocation>, 'get'>;
  /** The Restores' cache: the deletion waits while a Restore of the Backup runs. */
  restores?: Pick<Informer<Restore>, 'list'>;
  location: LocationDeps;
  /** createS3Store when absent. */
  storeFactory?: StoreFactory;
  /** The clock of status timestamps. Default Date.now. */
  now?: () => number;
  /** Grace of unreferenced packs that were not the deleted backup's (collectGarbage's 6 h when absent). */
  packGraceMs?: number;
  /** How long to wait before looking again while a backup of the same location runs. Default 5 s. */
  waitMs?: number;
  /** Called after each deletion step, once its status is written (tests look at the bucket here). */
  pause?: (step: DeleteStep, removed: Removed) => Promise<void>;
  /** The data deletion (tests replace it); deleteBackupData when absent. */
  deleteData?: typeof deleteBackupData;
}

/** Store failures that retrying will not fix: the request fails with them. */
const permanentStoreCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['CAIRN_E_STORE_ACCESS_DENIED', 'CAIRN_E_STORE_BAD_ENDPOINT', 'CAIRN_E_STORE_NOT_FOUND', 'CAIRN_E_INVALID_ARGUMENT']);

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * For the controller's `watches` on the Backups and Restores informers: when one changes, the
 * InProgress requests of its namespace are looked at again (one may be waiting for it to finish),
 * so they need not wait for their next requeue.
 */
export function requestsToRecheck(requests: Pick<Informer<DeleteBackupRequest>, 'list'>): (obj: KubernetesObject) => string[] {
  return (obj) => {
    const ns = obj.metadata?.namespace;
    if (!ns) return [];
    return requests.list(ns).filter((r) => r.status?.phase === 'InProgress').map((r) => `${ns}/${r.metadata.name!}`);
  };
}

const zero = (): Removed => ({ manifest: false, index: 0, packs: 0 });

function describeRemoved(r: Removed | undefined): string {
  const x = r ?? zero();
  return `${x.manifest ? 'the manifest' : 'no manifest'}, ${x.index} index object(s) and ${x.packs} pack(s) removed from the bucket`;
}

export class DeleteBackupRequestReconciler implements PhaseReconciler<'DeleteBackupRequest', DeleteBackupRequestPhase> {
  readonly kind = 'DeleteBackupRequest';
  private readonly d: DeleteBackupRequestReconcilerDeps;

  constructor(d: DeleteBackupRequestReconcilerDeps) {
    this.d = d;
  }

  phaseOf(r: DeleteBackupRequest): DeleteBackupRequestPhase | undefined {
    return r.status?.phase;
  }

  isFinal(phase: DeleteBackupRequestPhase | undefined): boolean {
    return isDeleteBackupRequestFinal(phase);
  }

  async reconcile(r: DeleteBackupRequest, phase: DeleteBackupRequestPhase | undefined, ctx: Ctx): Promise<ReconcileResult> {
    switch (phase) {
      case undefined:
      case 'New':
        return this.start(r, phase, ctx);
      case 'InProgress':
        return this.proceed(r, ctx, true);
      default:
        return; // Processed or Failed: final (the status has no observedGeneration, so the skeleton does not skip these)
    }
  }

  private time(): string {
    return metaTime(new Date((this.d.now ?? Date.now)()));
  }

  private async readBackup(namespace: string, name: string): Promise<Backup | undefined> {
    try {
      return (await this.d.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace, name })) as Backup;
    } catch (err) {
      if (httpCode(err) === 404) return undefined;
      throw err;
    }
  }

  private async plan(r: DeleteBackupRequest, started: boolean): Promise<{ backup: Backup | undefined; plan: DeletionPlan }> {
    const ns = r.metadata.namespace!;
    const backup = await this.readBackup(ns, r.spec.backupName);
    const location = backup ? this.d.locations.get(ns, backup.spec.storageLocation) : undefined;
    return { backup, plan: planDeletion({ request: r, backup, location, started }) };
  }

  private async fail(ctx: Ctx, from: DeleteBackupRequestPhase | undefined, code: ErrorCode, message: string, reason: string): Promise<void> {
    if (await ctx.transition(from, 'Failed', (s) => {
      s.errors = [message];
      s.errorCode = code;
      s.completionTimestamp = this.time();
    })) ctx.event('Warning', reason, message);
  }

  private async start(r: DeleteBackupRequest, phase: 'New' | undefined, ctx: Ctx): Promise<ReconcileResult> {
    const { plan } = await this.plan(r, false);
    if (plan.kind === 'refuse') return this.fail(ctx, phase, plan.code, plan.message, 'Refused');
    if (!(await ctx.transition(phase, 'InProgress'))) return; // a stale copy: the newer one is on its way
    ctx.event('Normal', 'Started', `deleting Backup ${r.spec.backupName}`);
    return this.proceed(r, ctx, false);
  }

  private async proceed(r: DeleteBackupRequest, ctx: Ctx, resumed: boolean): Promise<ReconcileResult> {
    const ns = r.metadata.namespace!;
    const name = r.spec.backupName;
    const { backup, plan } = await this.plan(r, true);
    switch (plan.kind) {
      case 'refuse':
        return this.fail(ctx, 'InProgress', plan.code, plan.message, 'DeletionFailed');
      case 'gone':
        return this.finish(ctx, `Backup ${name} no longer exists`);
      case 'objectOnly':
        await this.deleteBackupObject(backup!);
        return this.finish(ctx, `Backup ${name} deleted (${plan.reason})`);
      case 'data':
        break;
    }
    const b = backup!;
    if (!(await this.markDeleting(b, r))) return this.finish(ctx, `Backup ${name} no longer exists`);
    const busy = runningBackupsOfLocation(b, this.d.backups.list(ns));
    const reading = restoresReading(b, this.d.restores?.list(ns) ?? []);
    if (busy.length > 0 || reading.length > 0) {
      const what = [
        ...(busy.length > 0 ? [`Backup(s) ${busy.slice(0, 5).join(', ')} of location ${b.spec.storageLocation}`] : []),
        ...(reading.length > 0 ? [`Restore(s) ${reading.slice(0, 5).join(', ')} of this backup`] : []),
      ];
      ctx.event('Normal', 'Waiting', `waiting for ${what.join(' and ')} to finish before deleting the data of Backup ${name}`);
      return { requeueAfterMs: this.d.waitMs ?? 5_000 };
    }

    let loc: ResolvedLocation;
    try {
      loc = await resolveLocation(plan.location, this.d.location);
    } catch (err) {
      ctx.signal.throwIfAborted();
      if (isLocationError(err) && err.reason !== 'SecretUnreadable' && err.reason !== 'EndpointUnresolvable') {
        await this.fail(ctx, 'InProgress', err.code, `Backup ${name}: its location ${plan.location.metadata.name!}: ${err.message}`, 'DeletionFailed');
        return;
      }
      throw err;
    }
    const store = (this.d.storeFactory ?? createS3Store)(storeConfigFor(loc, { logger: ctx.log }));
    let result: DeleteDataResult;
    try {
      const opts: DeleteDataOptions = {
        signal: ctx.signal, alwaysCollect: resumed, pause: this.recorder(ctx),
        lineages: (b.status?.volumes ?? []).flatMap((v) => (v.lineage ? [v.lineage] : [])),
        ...(loc.encryptionKey ? { key: loc.encryptionKey.reveal() } : {}),
        ...(this.d.packGraceMs !== undefined ? { graceMs: this.d.packGraceMs } : {}),
      };
      result = await (this.d.deleteData ?? deleteBackupData)(store, name, opts);
    } catch (err) {
      ctx.signal.throwIfAborted();
      if (isCairnError(err) && permanentStoreCodes.has(err.code)) {
        await this.fail(ctx, 'InProgress', err.code, `deleting the data of Backup ${name} from location ${loc.name} failed: ${err.message}`, 'DeletionFailed');
        return;
      }
      throw err;
    } finally {
      store.close();
    }
    if (result.packsKept) {
      ctx.event('Warning', 'PacksKept', `Backup ${name}: its manifest and indexes are deleted, but its packs stay until a later garbage collection succeeds: ${result.packsKept.message}`);
    }
    await this.deleteBackupObject(b);
    return this.finish(ctx, `Backup ${name} deleted`);
  }

  /**
   * Writes what was removed after each step, added to what earlier attempts wrote (status is
   * re-read on every write, so the sum holds across conflicts and restarts).
   */
  private recorder(ctx: Ctx): (step: DeleteStep, removed: Removed) => Promise<void> {
    let written = zero();
    return async (step, now) => {
      const index = now.index - written.index;
      const packs = now.packs - written.packs;
      await ctx.updateStatus((s) => {
        if (s.phase !== 'InProgress') return false;
        const before = { ...zero(), ...s.removed };
        s.removed = { manifest: before.manifest || now.manifest, index: before.index + index, packs: before.packs + packs };
      });
      written = now;
      await this.d.pause?.(step, now);
    };
  }

  /** Marks the Backup Deleting (so no new backup takes it as parent); false when it is gone. */
  private async markDeleting(b: Backup, r: DeleteBackupRequest): Promise<boolean> {
    if (b.status?.phase === 'Deleting') return true;
    try {
      await updateStatusWithRetry(this.d.api, { kind: 'Backup', namespace: b.metadata.namespace!, name: b.metadata.name!, uid: b.metadata.uid! }, (s) => {
        if (!isBackupFinal(s.phase)) return false;
        s.phase = 'Deleting';
        s.message = `being deleted by DeleteBackupRequest ${r.metadata.name!}`;
      });
      return true;
    } catch (err) {
      if (isCairnError(err, 'CAIRN_E_NOT_FOUND')) return false;
      throw err;
    }
  }

  /** Deletes the Backup object, only the one with this uid; already gone is fine. */
  private async deleteBackupObject(b: Backup): Promise<void> {
    try {
      await this.d.api.deleteNamespacedCustomObject({
        group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace: b.metadata.namespace!, name: b.metadata.name!,
        body: { preconditions: { uid: b.metadata.uid! } },
      });
    } catch (err) {
      // 404: gone already; 409: the uid precondition failed, the name now belongs to another Backup.
      if (httpCode(err) !== 404 && httpCode(err) !== 409) throw err;
    }
  }

  private async finish(ctx: Ctx, what: string): Promise<void> {
    let removed: Removed | undefined;
    if (await ctx.transition('InProgress', 'Processed', (s) => {
      s.removed = { ...zero(), ...s.removed };
      removed = s.removed as Removed;
      s.completionTimestamp = this.time();
      delete s.errors;
      delete s.errorCode;
    })) ctx.event('Normal', 'Processed', `${what}: ${describeRemoved(removed)}`);
  }
}
