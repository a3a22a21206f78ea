// A tiny Backup reconciler for the runtime suites, and the shape of a real one: a switch on the
// phase, guarded transitions, an Event after each transition that happened, a finalizer. It moves
// a Backup New -> Queued -> InProgress -> Completed and does nothing else.
import { isBackupFinal, type Backup, type BackupPhase } from '../../../common/src/crds.ts';
import { metaTime, setCondition } from '../../../coordinator/src/runtime/conditions.ts';
import type { PhaseReconciler, ReconcileContext, ReconcileResult } from '../../../coordinator/src/runtime/reconciler.ts';

type Ctx = ReconcileContext<'Backup', BackupPhase>;

export class ToyBackupReconciler implements PhaseReconciler<'Backup', BackupPhase> {
  readonly kind = 'Backup';
  readonly finalizer = 'runtime-test.cairn.dev/cleanup';
  /** Every reconcile call: key and the phase it saw. */
  readonly calls: { key: string; phase: BackupPhase | undefined }[] = [];
  /** Side effects done after a transition that happened (each must happen once per object). */
  readonly effects: { key: string; effect: string }[] = [];
  readonly finalized: string[] = [];
  private readonly failures = new Map<string, number>();

  phaseOf(b: Backup): BackupPhase | undefined {
    return b.status?.phase;
  }

  isFinal(phase: BackupPhase | undefined): boolean {
    return isBackupFinal(phase);
  }

  finalize(_b: Backup, ctx: Ctx): Promise<ReconcileResult> {
    this.finalized.push(ctx.key);
    ctx.event('Normal', 'Finalized', 'cleanup done');
    return Promise.resolve();
  }

  async reconcile(b: Backup, phase: BackupPhase | undefined, ctx: Ctx): Promise<ReconcileResult> {
    this.calls.push({ key: ctx.key, phase });
    // `flaky: "N"` makes the first N reconciles of the object fail.
    const flaky = Number(b.metadata.labels?.flaky ?? 0);
    const failed = this.failures.get(ctx.key) ?? 0;
    if (failed < flaky) {
      this.failures.set(ctx.key, failed + 1);
      throw new Error(`flaky failure ${failed + 1} of ${flaky}`);
    }
    switch (phase) {
      case undefined:
      case 'New':
        if (await ctx.transition(phase, 'Queued', (s) => (s.message = 'waiting for a job slot'))) this.effect(ctx, 'Queued', 'queued');
        return;
      case 'Queued':
        if (await ctx.transition('Queued', 'InProgress', (s) => (s.startTimestamp = metaTime(new Date())))) this.effect(ctx, 'Started', 'started');
        return;
      case 'InProgress':
        if (await ctx.transition('InProgress', 'Completed', (s) => {
          s.completionTimestamp = metaTime(new Date());
          s.message = 'done';
          s.conditions = setCondition(s.conditions, { type: 'Completed', status: 'True', reason: 'AllVolumesBackedUp', message: 'all volumes backed up' });
        })) this.effect(ctx, 'Completed', 'completed');
        return;
      case 'Completed':
      case 'PartiallyFailed':
      case 'Failed':
      case 'FailedValidation':
      case 'Deleting':
        return; // final (reached only when the spec changed since) or not this reconciler's job
    }
  }

  private effect(ctx: Ctx, reason: string, effect: string): void {
    this.effects.push({ key: ctx.key, effect });
    ctx.event('Normal', reason, `backup ${effect}`);
  }
}
