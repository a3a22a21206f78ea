// The Restore reconciler: New -> (FailedValidation | Queued) -> InProgress -> Completed |
// PartiallyFailed | Failed, like the Backup's. The run (run-restore.ts) writes only into PVCs of
// the Restore's own namespace, through its own helper pods.
import { GROUP, VERSION, isRestoreFinal, type Backup, type BackupStorageLocation, type Restore, type RestorePhase, type RestoreStatus } from '../../../common/src/crds.ts';
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
import { runRestore, type RestoreOutcome } from './run-restore.ts';
import { validateRestore } from './validate-restore.ts';

type Ctx = ReconcileContext<'Restore', RestorePhase>;

export interface RestoreReconcilerDeps {
  jobs: JobDeps;
  statusApi: StatusApi;
  locations: Informer<BackupStorageLocation>;
  backups: Informer<Backup>;
  runs: RunRegistry;
  queue: FairQueue;
  /** Rate of queuePosition writes per waiting run. */
  positions: PositionThrottle;
  shutdown: AbortSignal;
}

const waitMs = 2_000;

export class RestoreReconciler implements PhaseReconciler<'Restore', RestorePhase> {
  readonly kind = 'Restore';
  private readonly d: RestoreReconcilerDeps;

  constructor(d: RestoreReconcilerDeps) {
    this.d = d;
  }

  phaseOf(r: Restore): RestorePhase | undefined {
    return r.status?.phase;
  }

  isFinal(phase: RestorePhase | undefined): boolean {
    return isRestoreFinal(phase);
  }

  private check(r: Restore) {
    const ns = r.metadata.namespace!;
    const backup = this.d.backups.get(ns, r.spec.backupName);
    return validateRestore({ restore: r, backup, location: backup ? this.d.locations.get(ns, backup.spec.storageLocation) : undefined });
  }

  async reconcile(r: Restore, phase: RestorePhase | undefined, ctx: Ctx): Promise<ReconcileResult> {
    switch (phase) {
      case undefined:
      case 'New': {
        const check = this.check(r);
        if (check.ok === 'wait') {
          if (phase === undefined || r.status?.message !== check.reason) await ctx.updateStatus((s) => { s.phase = 'New'; s.message = check.reason; });
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
        if (await ctx.transition(phase, 'Queued', (s) => { s.message = 'waiting for a job slot'; })) ctx.event('Normal', 'Queued', 'restore validated and queued');
        return;
      }
      case 'Queued': {
        // A stale copy of a run this process already drives: its slot is taken and stays so.
        if (this.d.runs.has(ctx.key)) return;
        const entry = queueEntry(r, ctx.key);
        const offer = this.d.queue.offer(entry);
        if (!offer.admitted) {
          if (r.status?.queuePosition !== offer.position) {
            const due = r.status?.queuePosition === undefined ? 0 : this.d.positions.dueIn(entry.id);
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
          s.message = 'reading the backup';
          delete s.queuePosition;
        })) {
          ctx.event('Normal', 'Started', 'restore started');
          this.start(r, ctx);
        } else {
          this.d.queue.release(entry.id);
        }
        return;
      }
      case 'InProgress': {
        if (this.d.runs.has(ctx.key)) return;
        // The cache may be behind a run of this process that just ended: only the stored phase counts.
        if ((await this.stored(r))?.status?.phase !== 'InProgress') return;
        // No run of this process drives it: a previous coordinator (or leader) stopped while it
        // ran. Run it again: jobs are idempotent up to the manifest, whose conditional write
        // keeps a restore from completing twice, and a restore whose manifest exists is reported done.
        ctx.event('Normal', 'Resumed', 'the coordinator that ran this restore stopped; running it again');
        ctx.log.info('resuming a run left InProgress by a previous coordinator');
        this.d.queue.claim(queueEntry(r, ctx.key));
        this.start(r, ctx);
        return;
      }
      default:
        return;
    }
  }

  /** The object as stored now (undefined when gone). */
  private async stored(r: Restore): Promise<Restore | undefined> {
    try {
      const got = (await this.d.statusApi.getNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: 'restores', namespace: r.metadata.namespace!, name: r.metadata.name! })) as Restore;
      return got.metadata.uid === r.metadata.uid ? got : undefined;
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return undefined;
      throw err;
    }
  }

  private start(r: Restore, ctx: Ctx): void {
    this.d.runs.start(ctx.key, this.d.shutdown, (signal) => this.run(r, ctx, signal).finally(() => this.d.queue.release(queueEntry(r, ctx.key).id)), (err) => ctx.log.error({ err }, 'restore run crashed'));
  }

  private async run(r: Restore, ctx: Ctx, signal: AbortSignal): Promise<void> {
    const ns = r.metadata.namespace!;
    const ref = { kind: 'Restore' as const, namespace: ns, name: r.metadata.name!, uid: r.metadata.uid! };
    const writeOpts = { signal: this.d.shutdown, ...(r.metadata.generation !== undefined ? { observedGeneration: r.metadata.generation } : {}) };
    const progress = new RunProgress();
    const ticker = new StatusTicker(async () => {
      await updateStatusWithRetry(this.d.statusApi, ref, (s) => {
        if (s.phase !== 'InProgress') return false;
        const snap = progress.snapshot();
        s.volumes = snap.volumes;
        s.progress = snap.progress;
        s.message = `restoring ${snap.volumes.filter((v) => v.phase === 'InProgress').length} volume(s)`;
      }, writeOpts);
    }, this.d.jobs.progressIntervalMs, ctx.log);

    let outcome: RestoreOutcome;
    try {
      const check = this.check(r);
      if (check.ok !== true) throw new Error(check.ok === false ? check.errors.join('; ') : check.reason);
      outcome = await runRestore(this.d.jobs, { restore: r, backup: check.backup, location: check.location, progress, signal, log: ctx.log });
    } catch (err) {
      outcome = signal.aborted
        ? { phase: 'Failed', errorCode: 'CAIRN_E_ABORTED', message: `the restore was cancelled: ${String((signal.reason as Error | undefined)?.message ?? signal.reason)}` }
        : { phase: 'Failed', errorCode: describeError(err).code, message: describeError(err).message };
    }
    await ticker.stop();
    if (this.d.shutdown.aborted) return;
    const snap = progress.snapshot();
    const final = outcome.phase as Extract<RestorePhase, 'Completed' | 'PartiallyFailed' | 'Failed'>;
    const res = await updateStatusWithRetry(this.d.statusApi, ref, (s: RestoreStatus) => {
      if (s.phase !== 'InProgress') return false;
      s.phase = final;
      s.volumes = snap.volumes;
      s.progress = snap.progress;
      s.message = outcome.message ?? final;
      if (outcome.errorCode && final !== 'Completed') s.errorCode = outcome.errorCode;
      s.completionTimestamp = metaTime(new Date());
      s.conditions = setCondition(s.conditions, { type: 'Completed', status: final === 'Completed' ? 'True' : 'False', reason: final, message: (outcome.message ?? final).slice(0, 1024) });
    }, writeOpts).catch((err: unknown) => {
      ctx.log.warn({ err }, 'writing the final status failed');
      return undefined;
    });
    if (res?.written) ctx.event(final === 'Completed' ? 'Normal' : 'Warning', final, outcome.message ?? final);
  }
}

/** The fair queue's entry of a Restore: one tenant per namespace. */
export function queueEntry(r: Restore, key: string): QueueEntry {
  return { id: `Restore/${key}`, tenant: r.metadata.namespace!, createdAt: isoTime(r.metadata.creationTimestamp) };
}
