// The Backup reconciler: New -> (FailedValidation | Queued) -> InProgress -> Completed |
// PartiallyFailed | Failed. Validation names every field that is wrong; a run moves the volumes
// (run-backup.ts) while a ticker writes progress into status; the final write sets the phase,
// the volumes, the totals, completionTimestamp and expiration. Synced Backups (found in a bucket
// by the location's sync) are never run: they arrive Completed.
import { GROUP, LABEL_SYNCED, VERSION, isBackupFinal, type Backup, type BackupPhase, type BackupStatus, type BackupStorageLocation } from '../../../common/src/crds.ts';
import { describeError } from '../jobs/errors.ts';
import type { JobDeps } from '../jobs/job-deps.ts';
import { RunProgress, StatusTicker } from '../jobs/run-progress.ts';
import type { RunRegistry } from '../jobs/run-registry.ts';
import type { FairQueue, QueueEntry } from '../queue/fair-queue.ts';
import type { PositionThrottle } from '../queue/position-throttle.ts';
import { isoTime, metaTime, setCondition } from '../runtime/conditions.ts';
import type { Informer } from '../runtime/informer.ts';
import type { PhaseReconciler, ReconcileContext, ReconcileResult } from '../runtime/reconciler.ts';
import { updateStatusWithRetry, type StatusApi } from '../runtime/status-writer.ts';
import { runBackup, type BackupOutcome } from './run-backup.ts';
import { selectNamespaces, validateBackup } from './validate-backup.ts';

type Ctx = ReconcileContext<'Backup', BackupPhase>;

export interface BackupReconcilerDeps {
  jobs: JobDeps;
  statusApi: StatusApi;
  locations: Informer<BackupStorageLocation>;
  backups: Informer<Backup>;
  runs: RunRegistry;
  queue: FairQueue;
  /** Rate of queuePosition writes per waiting run. */
  positions: PositionThrottle;
  defaultTtlMs: number;
  /** Stops every run when the coordinator shuts down. */
  shutdown: AbortSignal;
}

const waitMs = 2_000;

export class BackupReconciler implements PhaseReconciler<'Backup', BackupPhase> {
  readonly kind = 'Backup';
  private readonly d: BackupReconcilerDeps;

  constructor(d: BackupReconcilerDeps) {
    this.d = d;
  }

  phaseOf(b: Backup): BackupPhase | undefined {
    return b.status?.phase;
  }

  isFinal(phase: BackupPhase | undefined): boolean {
    return isBackupFinal(phase);
  }

  async reconcile(b: Backup, phase: BackupPhase | undefined, ctx: Ctx): Promise<ReconcileResult> {
    if (b.metadata.labels?.[LABEL_SYNCED] === 'true' && phase === undefined) return; // the sync writes its status
    switch (phase) {
      case undefined:
      case 'New':
        return this.validate(b, phase, ctx);
      case 'Queued': {
        // A stale copy of a run this process already drives: its slot is taken and stays so.
        if (this.d.runs.has(ctx.key)) return;
        const entry = queueEntry(b, ctx.key);
        const offer = this.d.queue.offer(entry);
        if (!offer.admitted) {
          if (b.status?.queuePosition !== offer.position) {
            const due = b.status?.queuePosition === undefined ? 0 : this.d.positions.dueIn(entry.id);
            if (due > 0) return { requeueAfterMs: due };
            this.d.positions.wrote(entry.id);
            await ctx.updateStatus((s) => {
              if (s.phase !== 'Queued') return false;
              s.queuePosition = offer.position;
              s.message = `waiting for a job slot: position ${offer.position}`;
            });
          }
          return;
        }
        this.d.positions.forget(entry.id);
        if (await ctx.transition('Queued', 'InProgress', (s) => {
          s.startTimestamp = metaTime(new Date());
          s.message = 'resolving volumes';
          delete s.queuePosition;
        })) {
          ctx.event('Normal', 'Started', 'backup started');
          this.start(b, ctx);
        } else {
          this.d.queue.release(entry.id);
        }
        return;
      }
      case 'InProgress': {
        if (this.d.runs.has(ctx.key)) return;
        // The cache may be behind a run of this process that just ended: only the stored phase counts.
        if ((await this.stored(b))?.status?.phase !== 'InProgress') return;
        // No run of this process drives it: a previous coordinator (or leader) stopped while it
        // ran. Run it again: jobs are idempotent up to the manifest, whose conditional write
        // keeps a backup from completing twice, and a backup whose manifest exists is reported done.
        ctx.event('Normal', 'Resumed', 'the coordinator that ran this backup stopped; running it again');
        ctx.log.info('resuming a run left InProgress by a previous coordinator');
        this.d.queue.claim(queueEntry(b, ctx.key));
        this.start(b, ctx);
        return;
      }
      default:
        return; // final, or Deleting (the deletion controller's)
    }
  }

  private async validate(b: Backup, phase: 'New' | undefined, ctx: Ctx): Promise<ReconcileResult> {
    const check = validateBackup({
      backup: b,
      location: this.d.locations.get(b.metadata.namespace, b.spec.storageLocation),
      adminNamespace: this.d.jobs.adminNamespace,
      defaultTtlMs: this.d.defaultTtlMs,
    });
    if (check.ok === 'wait') {
      if (phase === undefined) await ctx.transition(undefined, 'New', (s) => (s.message = check.reason));
      return { requeueAfterMs: waitMs };
    }
    if (check.ok === false) {
      if (await ctx.transition(phase, 'FailedValidation', (s) => {
        s.validationErrors = check.errors;
        s.errorCode = 'CAIRN_E_INVALID_ARGUMENT';
        s.message = check.errors.join('; ');
        s.completionTimestamp = metaTime(new Date());
      })) ctx.event('Warning', 'FailedValidation', check.errors.join('; '));
      return;
    }
    const created = b.metadata.creationTimestamp ? new Date(b.metadata.creationTimestamp) : new Date();
    if (await ctx.transition(phase, 'Queued', (s) => {
      s.message = 'waiting for a job slot';
      s.expiration = metaTime(new Date(created.getTime() + check.ttlMs));
      delete s.validationErrors;
    })) ctx.event('Normal', 'Queued', 'backup validated and queued');
    return;
  }

  /** The object as stored now (undefined when gone). */
  private async stored(b: Backup): Promise<Backup | undefined> {
    try {
      const got = (await this.d.statusApi.getNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: 'backups', namespace: b.metadata.namespace!, name: b.metadata.name! })) as Backup;
      return got.metadata.uid === b.metadata.uid ? got : undefined;
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return undefined;
      throw err;
    }
  }

  private start(b: Backup, ctx: Ctx): void {
    const key = ctx.key;
    this.d.runs.start(key, this.d.shutdown, (signal) => this.run(b, ctx, signal).finally(() => this.d.queue.release(queueEntry(b, ctx.key).id)), (err) => ctx.log.error({ err }, 'backup run crashed'));
  }

  private async run(b: Backup, ctx: Ctx, signal: AbortSignal): Promise<void> {
    const ns = b.metadata.namespace!;
    const ref = { kind: 'Backup' as const, namespace: ns, name: b.metadata.name!, uid: b.metadata.uid! };
    const writeOpts = { signal: this.d.shutdown, ...(b.metadata.generation !== undefined ? { observedGeneration: b.metadata.generation } : {}) };
    const progress = new RunProgress();
    const ticker = new StatusTicker(async () => {
      await updateStatusWithRetry(this.d.statusApi, ref, (s) => {
        if (s.phase !== 'InProgress') return false;
        const snap = progress.snapshot();
        s.volumes = snap.volumes;
        s.progress = snap.progress;
        s.message = `backing up ${snap.volumes.filter((v) => v.phase === 'InProgress').length} volume(s)`;
      }, writeOpts);
    }, this.d.jobs.progressIntervalMs, ctx.log);

    let outcome: BackupOutcome;
    try {
      const location = this.d.locations.get(ns, b.spec.storageLocation);
      if (!location) throw new Error(`spec.storageLocation: BackupStorageLocation ${b.spec.storageLocation} was deleted`);
      const namespaces = b.spec.includedNamespaces && ns === this.d.jobs.adminNamespace
        ? selectNamespaces(b.spec.includedNamespaces, (await this.d.jobs.core.listNamespace()).items.map((n) => n.metadata!.name!))
        : [ns];
      outcome = await runBackup(this.d.jobs, { backup: b, location, namespaces, parentOf: (l) => this.parentOf(b, l), progress, signal, log: ctx.log });
    } catch (err) {
      outcome = signal.aborted
        ? { phase: 'Failed', errorCode: 'CAIRN_E_ABORTED', message: `the backup was cancelled: ${String((signal.reason as Error | undefined)?.message ?? signal.reason)}` }
        : { phase: 'Failed', errorCode: describeError(err).code, message: describeError(err).message };
    }
    await ticker.stop();
    if (this.d.shutdown.aborted) return; // the next coordinator fails it as interrupted
    const snap = progress.snapshot();
    const final = outcome.phase as Extract<BackupPhase, 'Completed' | 'PartiallyFailed' | 'Failed'>;
    const res = await updateStatusWithRetry(this.d.statusApi, ref, (s: BackupStatus) => {
      if (s.phase !== 'InProgress') return false;
      s.phase = final;
      s.volumes = snap.volumes;
      s.progress = snap.progress;
      s.message = outcome.message ?? final;
      if (outcome.errorCode && final !== 'Completed') s.errorCode = outcome.errorCode;
      s.completionTimestamp = metaTime(new Date());
      s.conditions = setCondition(s.conditions, {
        type: 'Completed', status: final === 'Completed' ? 'True' : 'False', reason: final, message: (outcome.message ?? final).slice(0, 1024),
      });
    }, writeOpts).catch((err: unknown) => {
      ctx.log.warn({ err }, 'writing the final status failed');
      return undefined;
    });
    if (res?.written) ctx.event(final === 'Completed' ? 'Normal' : 'Warning', final, outcome.message ?? final);
  }

  /** The latest backup in the same location with a completed volume of this lineage. */
  private parentOf(b: Backup, lineage: string): string | undefined {
    let best: { name: string; at: string } | undefined;
    for (const other of this.d.backups.list(b.metadata.namespace)) {
      if (other.metadata.uid === b.metadata.uid || other.spec.storageLocation !== b.spec.storageLocation) continue;
      const st = other.status;
      if (st?.phase !== 'Completed' && st?.phase !== 'PartiallyFailed') continue;
      if (!st.volumes?.some((v) => v.lineage === lineage && v.phase === 'Completed')) continue;
      const at = st.completionTimestamp ?? '';
      if (!best || at > best.at) best = { name: other.metadata.name!, at };
    }
    return best?.name;
  }
}

/** The fair queue's entry of a Backup: one tenant per namespace. */
export function queueEntry(b: Backup, key: string): QueueEntry {
  return { id: `Backup/${key}`, tenant: b.metadata.namespace!, createdAt: isoTime(b.metadata.creationTimestamp) };
}
