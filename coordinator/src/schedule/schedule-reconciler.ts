// The Schedule reconciler: checks the cron expression and time zone (FailedValidation naming the
// field), then on each reconcile creates at most one Backup, for the latest scheduled time that
// is due (cron.ts: never a burst after downtime; Skip leaves a missed run out), writes lastBackup,
// lastScheduleTime and nextBackup, applies retention (retention.ts) through DeleteBackupRequests,
// and asks to be reconciled again when the next run is due. Paused: no Backups, retention still
// applies. Time comes from an injectable clock.
//
// State lives in status and in the names: a run's Backup is `<schedule>-<UTC yyyyMMddHHmmss>` and
// a retention request `<backup>-retention`, so a retry, a reconcile of a stale copy or a second
// coordinator creating the same one gets 409 and moves on. The Backups carry no ownerReference:
// deleting a Schedule leaves its Backups (and their data) alone.
import type { CustomObjectsApi, KubernetesObject } from '@kubernetes/client-node';
import {
  API_VERSION, GROUP, PLURALS, VERSION, isBackupFinal,
  type Backup, type DeleteBackupRequest, type Schedule, type SchedulePhase, type ScheduleStatus,
} from '../../../common/src/crds.ts';
import type { Watch } from '../runtime/controller.ts';
import { findCondition, metaTime, setCondition } from '../runtime/conditions.ts';
import type { Informer } from '../runtime/informer.ts';
import type { PhaseReconciler, ReconcileContext, ReconcileResult } from '../runtime/reconciler.ts';
import { queueKey } from '../runtime/work-queue.ts';
import { parseSchedule, planRun, type CronSchedule, type RunPlan } from './cron.ts';
import { ANNOTATION_BACKUP_UID, ANNOTATION_SCHEDULED_TIME, LABEL_SCHEDULE, retentionRequestName, runName, scheduleLabelValue } from './names.ts';
import { applyRetention, type RetentionItem } from './retention.ts';

type Ctx = ReconcileContext<'Schedule', SchedulePhase>;

/** The calls the reconciler makes besides status writes: create Backups and DeleteBackupRequests. */
export type ScheduleApi = Pick<CustomObjectsApi, 'createNamespacedCustomObject' | 'getNamespacedCustomObject'>;

export interface ScheduleReconcilerDeps {
  api: ScheduleApi;
  /** Backups of the watched namespaces; a Schedule's are those with its LABEL_SCHEDULE. */
  backups: Informer<Backup>;
  /** When given, a Backup that already has a DeleteBackupRequest is not asked for again. */
  deleteRequests?: Informer<DeleteBackupRequest>;
  /** The clock. Default: the system clock. */
  now?: () => Date;
  /** A run more than this late is missed (missedRunPolicy decides). Default 60 s. */
  missedRunAfterMs?: number;
  /** Failed and FailedValidation Backups kept for diagnosis when retention is set. Default 3. */
  keepFailed?: number;
  /** Longest wait before reconciling again, however far the next run is. Default 10 min. */
  maxRequeueMs?: number;
}

/** Condition type: True while the Schedule creates Backups; its lastTransitionTime is when it was enabled. */
export const CONDITION_ACTIVE = 'Active';

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Milliseconds of an API time (a string in cached JSON, a Date in client-node's types); 0 when absent or unreadable. */
function time(s: string | Date | undefined): number {
  const t = s === undefined ? NaN : s instanceof Date ? s.getTime() : Date.parse(s);
  return Number.isFinite(t) ? t : 0;
}

/** A Backup as retention sees it: the run's scheduled time (annotation), else its creation. */
export function retentionItem(b: Backup): RetentionItem {
  const scheduled = time(b.metadata.annotations?.[ANNOTATION_SCHEDULED_TIME]);
  const at = scheduled || time(b.metadata.creationTimestamp);
  return { name: b.metadata.name!, time: new Date(at), phase: b.status?.phase };
}

/**
 * Enqueues a Schedule when one of its Backups reaches a final phase or is deleted, so retention
 * runs as soon as a run completes (progress updates of a running Backup enqueue nothing).
 */
export function scheduleBackupsWatch(backups: Informer<Backup>, schedules: Informer<Schedule>): Watch {
  return {
    informer: backups,
    keys: (obj: KubernetesObject) => {
      const b = obj as Backup;
      const label = b.metadata?.labels?.[LABEL_SCHEDULE];
      const ns = b.metadata?.namespace;
      if (!label || !ns || !isBackupFinal(b.status?.phase)) return [];
      return schedules.list(ns).filter((s) => scheduleLabelValue(s.metadata.name!) === label).map((s) => queueKey(s));
    },
  };
}

export class ScheduleReconciler implements PhaseReconciler<'Schedule', SchedulePhase> {
  readonly kind = 'Schedule';
  private readonly d: ScheduleReconcilerDeps;
  private readonly now: () => Date;

  constructor(d: ScheduleReconcilerDeps) {
    this.d = d;
    this.now = d.now ?? (() => new Date());
  }

  phaseOf(s: Schedule): SchedulePhase | undefined {
    return s.status?.phase;
  }

  /** FailedValidation is final until the spec changes (a new generation); the others never are. */
  isFinal(phase: SchedulePhase | undefined): boolean {
    return phase === 'FailedValidation';
  }

  async reconcile(s: Schedule, _phase: SchedulePhase | undefined, ctx: Ctx): Promise<ReconcileResult> {
    const now = this.now();
    const parsed = parseSchedule(s.spec, now);
    if (!parsed.ok) {
      await this.refuse(parsed.errors, ctx, now);
      return;
    }
    if (s.spec.paused) {
      await this.pause(ctx, now);
      await this.retain(s, parsed.schedule, ctx);
      return;
    }
    return this.enabled(s, parsed.schedule, ctx, now);
  }

  /** One status write; `before` is the phase it found. */
  private async write(ctx: Ctx, mutate: (s: ScheduleStatus) => void): Promise<{ written: boolean; before: SchedulePhase | undefined; status: ScheduleStatus }> {
    let before: SchedulePhase | undefined;
    const res = await ctx.updateStatus((st) => {
      before = st.phase;
      mutate(st);
    });
    return { written: res.written, before, status: res.object.status ?? {} };
  }

  private async refuse(errors: string[], ctx: Ctx, now: Date): Promise<void> {
    const message = errors.join('; ');
    const res = await this.write(ctx, (st) => {
      st.phase = 'FailedValidation';
      st.validationErrors = errors;
      st.message = message;
      delete st.nextBackup;
      st.conditions = setCondition(st.conditions, { type: CONDITION_ACTIVE, status: 'False', reason: 'FailedValidation', message: message.slice(0, 1024) }, now);
    });
    if (res.written) ctx.event('Warning', 'FailedValidation', message);
  }

  private async pause(ctx: Ctx, now: Date): Promise<void> {
    const res = await this.write(ctx, (st) => {
      st.phase = 'Paused';
      st.message = 'paused: no Backups are created while spec.paused is true; retention still applies';
      delete st.validationErrors;
      delete st.nextBackup;
      st.conditions = setCondition(st.conditions, { type: CONDITION_ACTIVE, status: 'False', reason: 'Paused', message: 'spec.paused is true' }, now);
    });
    if (res.written && res.before !== 'Paused') ctx.event('Normal', 'Paused', 'schedule paused: no Backups are created');
  }

  private async enabled(s: Schedule, cron: CronSchedule, ctx: Ctx, now: Date): Promise<ReconcileResult> {
    const createdAt = time(s.metadata.creationTimestamp);
    const enable = await this.write(ctx, (st) => {
      st.phase = 'Enabled';
      delete st.validationErrors;
      // Enabled since creation when it never was anything else (so runs missed while no
      // coordinator ran are caught up); since now when it was paused or refused until now.
      const since = findCondition(st.conditions, CONDITION_ACTIVE) || !createdAt ? now : new Date(createdAt);
      st.conditions = setCondition(st.conditions, {
        type: CONDITION_ACTIVE, status: 'True', reason: 'Enabled', message: `Backups are created at "${cron.expression}" in ${cron.timeZone}`,
      }, since);
    });
    if (enable.written && enable.before !== 'Enabled') ctx.event('Normal', 'Enabled', `Backups are created at "${cron.expression}" in ${cron.timeZone}`);

    // Runs before the Schedule existed, or while it was paused or refused, are not missed runs.
    const st = enable.status;
    const since = new Date(Math.max(
      createdAt,
      time(findCondition(st.conditions, CONDITION_ACTIVE)?.lastTransitionTime),
      time(st.lastScheduleTime),
    ));
    const plan = planRun(cron, { since, now, policy: s.spec.missedRunPolicy ?? 'RunLatest', missedAfterMs: this.d.missedRunAfterMs ?? 60_000 });

    let backup: string | undefined;
    if (plan.due) {
      backup = runName(s.metadata.name!, plan.due.at);
      if (await this.createBackup(s, backup, plan.due.at, ctx)) {
        const late = plan.due.late ? ` (missed at its time; created late as missedRunPolicy is RunLatest${plan.missedEarlier ? ', earlier missed runs are not created' : ''})` : '';
        ctx.event('Normal', 'BackupCreated', `created Backup ${backup} for the run at ${metaTime(plan.due.at)}${late}`);
        ctx.log.info({ backup, scheduled: plan.due.at.toISOString(), late: plan.due.late }, 'backup created');
      }
    }

    const res = await this.write(ctx, (st2) => {
      if (plan.due && backup && time(st2.lastScheduleTime) < plan.due.at.getTime()) {
        st2.lastBackup = backup;
        st2.lastScheduleTime = metaTime(plan.due.at);
      }
      if (plan.next) st2.nextBackup = metaTime(plan.next);
      else delete st2.nextBackup;
      st2.message = message(plan);
    });
    if (plan.skipped && res.written) {
      ctx.event('Normal', 'MissedRunSkipped', `the run at ${metaTime(plan.skipped)} was missed and is not created (missedRunPolicy Skip)`);
    }

    await this.retain(s, cron, ctx);
    if (!plan.next) return; // no run ever again (checked at validation; the clock moved on)
    const wait = plan.next.getTime() - this.now().getTime() + 100;
    return { requeueAfterMs: Math.min(Math.max(wait, 100), this.d.maxRequeueMs ?? 10 * 60_000) };
  }

  /** Creates the run's Backup; false when it exists already (this run was created before). */
  private async createBackup(s: Schedule, name: string, at: Date, ctx: Ctx): Promise<boolean> {
    const namespace = s.metadata.namespace!;
    const body: Backup = {
      apiVersion: API_VERSION,
      kind: 'Backup',
      metadata: {
        name, namespace,
        labels: { [LABEL_SCHEDULE]: scheduleLabelValue(s.metadata.name!) },
        annotations: { [ANNOTATION_SCHEDULED_TIME]: metaTime(at) },
      },
      spec: structuredClone(s.spec.template),
    };
    try {
      await this.d.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.Backup, body });
      return true;
    } catch (err) {
      if (httpCode(err) === 409) return false;
      ctx.event('Warning', 'BackupCreateFailed', `creating Backup ${name} failed (HTTP ${httpCode(err) ?? 'error'}); retrying`);
      throw err;
    }
  }

  /** Asks for the deletion of every Backup retention lets go, once each. */
  private async retain(s: Schedule, cron: CronSchedule, ctx: Ctx): Promise<void> {
    const namespace = s.metadata.namespace!;
    const label = scheduleLabelValue(s.metadata.name!);
    const mine = this.d.backups.list(namespace).filter((b) => b.metadata.labels?.[LABEL_SCHEDULE] === label && !b.metadata.deletionTimestamp);
    const decision = applyRetention(mine.map(retentionItem), s.spec.retention, { timeZone: cron.timeZone, keepFailed: this.d.keepFailed ?? 3 });
    if (decision.remove.length === 0) return;
    const asked = new Set((this.d.deleteRequests?.list(namespace) ?? []).map((r) => r.spec.backupName));
    const byName = new Map(mine.map((b) => [b.metadata.name!, b]));
    const requested: string[] = [];
    for (const backup of decision.remove) {
      if (asked.has(backup)) continue;
      if (await this.requestDeletion(namespace, label, byName.get(backup)!, ctx)) requested.push(backup);
    }
    if (requested.length > 0) {
      ctx.event('Normal', 'RetentionDeleteRequested', `retention asked to delete ${requested.length} Backup(s): ${requested.slice(0, 10).join(', ')}${requested.length > 10 ? ', ...' : ''}`);
      ctx.log.info({ backups: requested }, 'retention: deletion requested');
    }
  }

  /** Creates `<backup>-retention`, pinned to the Backup's uid; false when it exists already. */
  private async requestDeletion(namespace: string, label: string, b: Backup, ctx: Ctx): Promise<boolean> {
    const backup = b.metadata.name!;
    const name = retentionRequestName(backup);
    const body: DeleteBackupRequest = {
      apiVersion: API_VERSION,
      kind: 'DeleteBackupRequest',
      metadata: {
        name, namespace,
        labels: { [LABEL_SCHEDULE]: label },
        ...(b.metadata.uid ? { annotations: { [ANNOTATION_BACKUP_UID]: b.metadata.uid } } : {}),
      },
      spec: { backupName: backup },
    };
    try {
      await this.d.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.DeleteBackupRequest, body });
      return true;
    } catch (err) {
      if (httpCode(err) !== 409) throw err;
    }
    // Ours from an earlier reconcile, or (rarely) someone's own request under this name.
    const existing = (await this.d.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS.DeleteBackupRequest, name })) as DeleteBackupRequest;
    if (existing.spec.backupName !== backup) {
      ctx.event('Warning', 'RetentionRequestNameTaken', `retention cannot ask to delete Backup ${backup}: DeleteBackupRequest ${name} exists for another Backup`);
    }
    return false;
  }
}

function message(plan: RunPlan): string {
  const next = plan.next ? `next backup at ${metaTime(plan.next)}` : 'no further run';
  return plan.skipped ? `the run at ${metaTime(plan.skipped)} was missed and skipped (missedRunPolicy Skip); ${next}` : next;
}
