// Grandfather-father-son retention of a Schedule's Backups, as restic's `forget --keep-*`: a pure
// function from the Backups (name, scheduled time, phase) and the policy to what to keep and what
// to ask to delete. The reconciler turns the deletions into DeleteBackupRequests.
//
// - Candidates are the final Backups that hold data: Completed and PartiallyFailed. A
//   PartiallyFailed backup restores every volume it did back up (the failed ones are named in its
//   status), so it counts like a Completed one; otherwise a volume that keeps failing would make
//   every backup of the Schedule PartiallyFailed and retention would never delete any of them.
// - keepLast n keeps the n newest candidates. keepHourly, keepDaily, keepWeekly and keepMonthly
//   n keep the newest candidate of each of the n newest hours (days, ISO weeks, months) that have
//   one, in the Schedule's time zone (calendar.ts). A candidate is kept when any rule keeps it;
//   every other candidate is deleted. With n >= 1 in any rule the newest candidate is always kept.
// - Failed and FailedValidation Backups hold nothing to restore: the newest `keepFailed` (3) are
//   kept so their status can be read, older ones are deleted.
// - Backups still running (no phase, New, Queued, InProgress) and those being deleted are never
//   deleted and never count.
// - No retention, or one whose counts are all 0, keeps every Backup: the Schedule deletes nothing
//   (each Backup's ttl still applies).
import type { BackupPhase, ScheduleSpec } from '../../../common/src/crds.ts';
import { periodKey, type Period } from './calendar.ts';

export type RetentionPolicy = NonNullable<ScheduleSpec['retention']>;

export interface RetentionItem {
  name: string;
  /** The run's time: its scheduled time, else its creation. */
  time: Date;
  phase: BackupPhase | undefined;
}

/** Why a Backup is kept: a rule's name, or what protects it. */
export type KeepReason = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'failed' | 'inProgress' | 'deleting' | 'noRetention';

export interface RetentionDecision {
  /** Every Backup kept, with the reasons, in no particular order. */
  keep: Map<string, KeepReason[]>;
  /** Backups to delete, newest first. */
  remove: string[];
}

export interface RetentionOptions {
  /** IANA time zone the periods are counted in. Default UTC. */
  timeZone?: string;
  /** Failed and FailedValidation Backups kept for diagnosis. Default 3. */
  keepFailed?: number;
}

const rules: { field: keyof RetentionPolicy; reason: KeepReason; period?: Period }[] = [
  { field: 'keepLast', reason: 'last' },
  { field: 'keepHourly', reason: 'hourly', period: 'hour' },
  { field: 'keepDaily', reason: 'daily', period: 'day' },
  { field: 'keepWeekly', reason: 'weekly', period: 'week' },
  { field: 'keepMonthly', reason: 'monthly', period: 'month' },
];

const candidatePhases: ReadonlySet<BackupPhase> = new Set<BackupPhase>(['Completed', 'PartiallyFailed']);
const failedPhases: ReadonlySet<BackupPhase> = new Set<BackupPhase>(['Failed', 'FailedValidation']);

/** Whether the policy keeps anything at all (a count above 0); otherwise it is no retention. */
export function hasRetention(policy: RetentionPolicy | undefined): policy is RetentionPolicy {
  return !!policy && rules.some((r) => (policy[r.field] ?? 0) > 0);
}

/** Newest first; equal times by name, so the decision does not depend on input order. */
function newestFirst(a: RetentionItem, b: RetentionItem): number {
  return b.time.getTime() - a.time.getTime() || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0);
}

export function applyRetention(items: readonly RetentionItem[], policy: RetentionPolicy | undefined, o: RetentionOptions = {}): RetentionDecision {
  const keep = new Map<string, KeepReason[]>();
  const remove: string[] = [];
  const mark = (name: string, reason: KeepReason): void => {
    const reasons = keep.get(name);
    if (reasons) reasons.push(reason);
    else keep.set(name, [reason]);
  };
  const sorted = [...items].sort(newestFirst);

  if (!hasRetention(policy)) {
    for (const i of sorted) mark(i.name, 'noRetention');
    return { keep, remove };
  }

  const timeZone = o.timeZone ?? 'UTC';
  const candidates: RetentionItem[] = [];
  let failedLeft = Math.max(0, o.keepFailed ?? 3);
  for (const i of sorted) {
    if (i.phase === undefined || i.phase === 'New' || i.phase === 'Queued' || i.phase === 'InProgress') mark(i.name, 'inProgress');
    else if (i.phase === 'Deleting') mark(i.name, 'deleting');
    else if (candidatePhases.has(i.phase)) candidates.push(i);
    else if (failedPhases.has(i.phase)) {
      if (failedLeft > 0) {
        failedLeft--;
        mark(i.name, 'failed');
      } else remove.push(i.name);
    }
  }

  for (const rule of rules) {
    let left = policy[rule.field] ?? 0;
    const seen = new Set<string>();
    for (const c of candidates) {
      if (left <= 0) break;
      if (!rule.period) {
        mark(c.name, rule.reason);
        left--;
        continue;
      }
      // Newest first, so the first candidate seen in a period is that period's newest. (A set,
      // not the last period: where clocks go back over midnight a date can come round twice.)
      const period = periodKey(c.time, rule.period, timeZone);
      if (seen.has(period)) continue;
      seen.add(period);
      mark(c.name, rule.reason);
      left--;
    }
  }

  const removed = new Set(remove);
  for (const c of candidates) if (!keep.has(c.name)) removed.add(c.name);
  return { keep, remove: sorted.filter((i) => removed.has(i.name)).map((i) => i.name) };
}
