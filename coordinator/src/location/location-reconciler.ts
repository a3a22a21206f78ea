// The BackupStorageLocation reconciler: validates the location (validate-location.ts: its
// Secrets, the endpoint policy, the bucket with the tenant's credentials) when its spec changed
// or its last validation is older than the sync period, writes Available or Unavailable with a
// reason, and when Available runs the sync from the bucket (Backup CRs for complete backups found
// there). Never writes to a ReadOnly location's bucket: its store refuses writes.
import type { Backup, BackupStorageLocation, BackupStorageLocationPhase } from '../../../common/src/crds.ts';
import type { Secret } from '../../../common/src/secret.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import type { Logger } from '../../../common/src/logger.ts';
import { parseGoDuration } from '../config.ts';
import { metaTime, setCondition } from '../runtime/conditions.ts';
import type { Informer } from '../runtime/informer.ts';
import type { PhaseReconciler, ReconcileContext, ReconcileResult } from '../runtime/reconciler.ts';
import { validateLocation, type LocationDeps } from './validate-location.ts';

type Ctx = ReconcileContext<'BackupStorageLocation', BackupStorageLocationPhase>;

export interface SyncRequest {
  location: { namespace: string; name: string; accessMode: 'ReadWrite' | 'ReadOnly' };
  store: ObjectStore;
  encryptionKey?: Secret<Buffer>;
  existing: readonly Backup[];
  signal: AbortSignal;
  logger: Logger;
}
export type SyncFn = (r: SyncRequest) => Promise<{ created: string[]; skipped: { backup: string; reason: string }[]; limited: number }>;

export interface LocationReconcilerDeps {
  location: LocationDeps;
  backups: Informer<Backup>;
  sync: SyncFn;
  defaultSyncPeriodMs: number;
}

function age(since: string | undefined): number {
  return since ? Date.now() - new Date(since).getTime() : Infinity;
}

export class LocationReconciler implements PhaseReconciler<'BackupStorageLocation', BackupStorageLocationPhase> {
  readonly kind = 'BackupStorageLocation';
  private readonly d: LocationReconcilerDeps;

  constructor(d: LocationReconcilerDeps) {
    this.d = d;
  }

  phaseOf(l: BackupStorageLocation): BackupStorageLocationPhase | undefined {
    return l.status?.phase;
  }

  /** Never final: a location is checked and synced again every sync period. */
  isFinal(): boolean {
    return false;
  }

  periodOf(l: BackupStorageLocation): number {
    const p = l.spec.syncPeriod === undefined ? undefined : parseGoDuration(l.spec.syncPeriod);
    return p !== undefined && p > 0 ? Math.max(p, 10_000) : this.d.defaultSyncPeriodMs;
  }

  async reconcile(l: BackupStorageLocation, phase: BackupStorageLocationPhase | undefined, ctx: Ctx): Promise<ReconcileResult> {
    const period = this.periodOf(l);
    const changed = l.metadata.generation !== l.status?.observedGeneration;
    const due = age(l.status?.lastValidationTime) >= period;
    if (!changed && !due && phase !== undefined) return { requeueAfterMs: Math.max(1_000, period - age(l.status?.lastValidationTime)) };

    const v = await validateLocation(l, { ...this.d.location, keepStore: true, signal: ctx.signal });
    const now = metaTime(new Date());
    const res = await ctx.updateStatus((s) => {
      s.phase = v.phase;
      s.reason = v.phase === 'Available' ? 'Validated' : v.reason;
      s.message = v.message.slice(0, 2048);
      s.lastValidationTime = now;
      s.conditions = setCondition(s.conditions, { type: 'Available', status: v.phase === 'Available' ? 'True' : 'False', reason: v.phase === 'Available' ? 'Validated' : v.reason, message: v.message.slice(0, 1024) });
    });
    if (res.written && phase !== v.phase) ctx.event(v.phase === 'Available' ? 'Normal' : 'Warning', v.phase === 'Available' ? 'Available' : v.reason, v.message);
    if (v.phase !== 'Available') return { requeueAfterMs: period };

    const store = v.store!;
    try {
      const result = await this.d.sync({
        location: { namespace: l.metadata.namespace!, name: l.metadata.name!, accessMode: v.location.accessMode },
        store, ...(v.location.encryptionKey ? { encryptionKey: v.location.encryptionKey } : {}),
        existing: this.d.backups.list(l.metadata.namespace), signal: ctx.signal, logger: ctx.log,
      });
      if (result.created.length > 0) ctx.event('Normal', 'BackupsSynced', `created ${result.created.length} Backup(s) found in the bucket: ${result.created.slice(0, 10).join(', ')}${result.created.length > 10 ? ', ...' : ''}`);
      if (result.skipped.length > 0) ctx.event('Warning', 'BackupsNotSynced', `${result.skipped.length} backup(s) in the bucket were not synced: ${result.skipped.slice(0, 5).map((x) => `${x.backup}: ${x.reason}`).join('; ')}`);
      if (result.limited > 0) ctx.event('Warning', 'SyncLimitReached', `${result.limited} backup(s) in the bucket were not synced: the number of synced Backups per location is capped`);
      await ctx.updateStatus((s) => {
        s.lastSyncedTime = metaTime(new Date());
      });
    } catch (err) {
      ctx.signal.throwIfAborted();
      ctx.log.warn({ err }, 'sync from the bucket failed');
      ctx.event('Warning', 'SyncFailed', `sync from the bucket failed: ${(err as { code?: string }).code ?? 'error'}`);
    } finally {
      store.close();
    }
    return { requeueAfterMs: period };
  }
}
