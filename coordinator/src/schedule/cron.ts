// A Schedule's cron expression and time zone, checked and evaluated by croner, and the one
// decision taken from them on each reconcile: which run, if any, is due now. Every function takes
// the time as an argument (the reconciler's injectable clock), none reads the system clock.
//
// Times follow croner, which follows Vixie cron across daylight-saving changes: a fixed time
// (`30 2 * * *`) that the clocks skip runs right after the gap, on that day; one they pass twice
// runs once, the first time. An expression with a range, list or step in the minute or hour field
// (`*/30 2 * * *`) runs at both passes through a repeated hour and skips times in a gap.
import { Cron } from 'croner';
import { isKnownTimeZone } from './calendar.ts';

export const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'] as const;

export type MissedRunPolicy = 'RunLatest' | 'Skip';

export interface CronSchedule {
  expression: string;
  timeZone: string;
  /** The next run strictly after `after`; undefined when there is none. */
  nextAfter(after: Date): Date | undefined;
  /** The latest run at or before `at`; undefined when there is none. */
  latestAtOrBefore(at: Date): Date | undefined;
}

export type ParsedSchedule = { ok: true; schedule: CronSchedule } | { ok: false; errors: string[] };

// Same as the CRD's pattern: what an IANA name looks like (not an offset such as +01:00).
const timeZoneShape = /^[A-Za-z][-+_A-Za-z0-9]*(\/[-+_A-Za-z0-9]+)*$/;

const allowedCron =
  'allowed are five space-separated fields (minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, ' +
  "day-of-week 0-7 or SUN-SAT, each '*' or numbers or names with ',' '-' '/'), e.g. \"0 2 * * *\", " +
  `or one of ${CRON_MACROS.join(', ')}`;

function fromCron(cron: Cron, expression: string, timeZone: string): CronSchedule {
  return {
    expression,
    timeZone,
    nextAfter: (after) => cron.nextRun(after) ?? undefined,
    // previousRuns is strictly before its reference and works in whole seconds.
    latestAtOrBefore: (at) => cron.previousRuns(1, new Date(Math.floor(at.getTime() / 1000) * 1000 + 1000))[0],
  };
}

/**
 * Checks `spec.schedule` and `spec.timeZone` (default UTC); each error names the field and what
 * is allowed. `now` is only used to check that the expression ever matches a date from now on.
 */
export function parseSchedule(spec: { schedule: string; timeZone?: string }, now: Date): ParsedSchedule {
  const errors: string[] = [];
  const timeZone = spec.timeZone ?? 'UTC';
  const zoneOk = timeZoneShape.test(timeZone) && isKnownTimeZone(timeZone);
  if (!zoneOk) errors.push(`spec.timeZone: ${JSON.stringify(timeZone)} is not a known IANA time zone name: use a name such as UTC, Europe/Berlin or America/New_York`);

  const expression = spec.schedule.trim();
  let cron: Cron | undefined;
  if (expression.startsWith('@')) {
    if (!(CRON_MACROS as readonly string[]).includes(expression)) {
      errors.push(`spec.schedule: ${JSON.stringify(spec.schedule)} is not a supported macro: ${allowedCron}`);
    }
  } else if (expression.split(/\s+/).length !== 5) {
    errors.push(`spec.schedule: ${JSON.stringify(spec.schedule)} has ${expression === '' ? 0 : expression.split(/\s+/).length} fields: ${allowedCron}`);
  }
  if (errors.every((e) => !e.startsWith('spec.schedule'))) {
    try {
      cron = new Cron(expression, { mode: '5-part', ...(zoneOk ? { timezone: timeZone } : {}) });
    } catch (err) {
      const why = String((err as Error).message ?? err).replace(/^CronPattern:\s*/, '');
      errors.push(`spec.schedule: ${JSON.stringify(spec.schedule)} is not a valid cron expression (${why}): ${allowedCron}`);
    }
    if (cron && cron.nextRun(now) === null) {
      errors.push(`spec.schedule: ${JSON.stringify(spec.schedule)} never matches a date from now on (such as the 30th of February): ${allowedCron}`);
    }
  }
  if (errors.length > 0 || !cron) return { ok: false, errors };
  return { ok: true, schedule: fromCron(cron, expression, timeZone) };
}

export interface RunPlanInput {
  /** Runs at or before this time are not due: the later of the last run's scheduled time, the
   * Schedule's creation, and the time it was last enabled (created, unpaused or made valid). */
  since: Date;
  now: Date;
  policy: MissedRunPolicy;
  /** A run later than this is missed (RunLatest still creates it; Skip does not). */
  missedAfterMs: number;
}

export interface RunPlan {
  /** The run to create now: the latest scheduled time in (since, now]. */
  due?: { at: Date; late: boolean };
  /** The latest run, missed and not created because the policy is Skip. */
  skipped?: Date;
  /** Whether runs before `due` or `skipped` were missed as well (and are never created). */
  missedEarlier: boolean;
  /** When the next run after this one is due. */
  next?: Date;
}

/**
 * At most one run is due at a time: the latest scheduled time after `since`, whatever was missed
 * before it, so a coordinator that was down for a day creates one Backup, never a burst. A run is
 * late when `now` is more than `missedAfterMs` past it; with Skip a late run is not created.
 */
export function planRun(s: CronSchedule, i: RunPlanInput): RunPlan {
  const from = i.now.getTime() > i.since.getTime() ? i.now : i.since;
  const next = s.nextAfter(from);
  const plan: RunPlan = { missedEarlier: false, ...(next ? { next } : {}) };
  const latest = s.latestAtOrBefore(i.now);
  if (!latest || latest.getTime() <= i.since.getTime()) return plan;
  const first = s.nextAfter(i.since);
  plan.missedEarlier = !!first && first.getTime() < latest.getTime();
  const late = i.now.getTime() - latest.getTime() > i.missedAfterMs;
  if (late && i.policy === 'Skip') plan.skipped = latest;
  else plan.due = { at: latest, late };
  return plan;
}
