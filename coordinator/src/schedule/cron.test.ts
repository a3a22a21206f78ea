import { describe, expect, it } from 'vitest';
import { parseSchedule, planRun, type CronSchedule } from './cron.ts';

const now = new Date('2025-01-01T00:00:00Z');

function cron(schedule: string, timeZone?: string): CronSchedule {
  const p = parseSchedule({ schedule, ...(timeZone ? { timeZone } : {}) }, now);
  if (!p.ok) throw new Error(p.errors.join('; '));
  return p.schedule;
}

/** The next `n` runs after `from`, as ISO strings. */
function runs(c: CronSchedule, from: string, n: number): string[] {
  const out: string[] = [];
  let t: Date | undefined = new Date(from);
  while (out.length < n && (t = c.nextAfter(t))) out.push(t.toISOString());
  return out;
}

const iso = (s: string): Date => new Date(s);

describe('parseSchedule', () => {
  it('accepts five fields, names, steps and the macros, in UTC by default', () => {
    for (const s of ['0 2 * * *', '*/15 * * * *', '0 0 * * MON-FRI', '0 3 1 JAN,JUL *', '5 4 * * 0', '0  2 * * *', '@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually']) {
      const p = parseSchedule({ schedule: s }, now);
      expect(p.ok, s).toBe(true);
      if (p.ok) expect(p.schedule.timeZone).toBe('UTC');
    }
  });

  it('refuses a bad expression naming spec.schedule and what is allowed', () => {
    const cases: [string, RegExp][] = [
      ['61 * * * *', /minute/],
      ['* * * *', /has 4 fields/],
      ['0 0 * * * *', /has 6 fields/],
      ['@reboot', /not a supported macro/],
      ['@every 5m', /not a supported macro/],
      ['a b c d e', /not a valid cron expression/],
      ['0 0 30 2 *', /never matches/],
      ['5/5 * * * *', /not a valid cron expression/],
    ];
    for (const [s, why] of cases) {
      const p = parseSchedule({ schedule: s }, now);
      expect(p.ok, s).toBe(false);
      if (p.ok) continue;
      expect(p.errors).toHaveLength(1);
      expect(p.errors[0]).toMatch(/^spec\.schedule: /);
      expect(p.errors[0]).toContain(JSON.stringify(s));
      expect(p.errors[0]).toMatch(why);
      expect(p.errors[0]).toContain('five space-separated fields');
      expect(p.errors[0]).toContain('@hourly');
    }
  });

  it('refuses an unknown time zone naming spec.timeZone, and still checks the expression', () => {
    for (const tz of ['Mars/Olympus', 'Europe/Atlantis', '+01:00', 'Z']) {
      const p = parseSchedule({ schedule: '0 2 * * *', timeZone: tz }, now);
      expect(p.ok, tz).toBe(false);
      if (!p.ok) expect(p.errors).toEqual([`spec.timeZone: ${JSON.stringify(tz)} is not a known IANA time zone name: use a name such as UTC, Europe/Berlin or America/New_York`]);
    }
    const both = parseSchedule({ schedule: '99 * * * *', timeZone: 'Mars/Olympus' }, now);
    expect(both.ok).toBe(false);
    if (!both.ok) expect(both.errors.map((e) => e.split(':')[0])).toEqual(['spec.timeZone', 'spec.schedule']);
  });
});

describe('cron times across daylight-saving changes', () => {
  it('runs a daily 02:30 in Europe/Berlin right after the spring gap, and once on the repeated autumn hour', () => {
    const c = cron('30 2 * * *', 'Europe/Berlin');
    // 2025-03-30: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist, so the run is at 03:00 CEST.
    expect(runs(c, '2025-03-28T12:00:00Z', 4)).toEqual(['2025-03-29T01:30:00.000Z', '2025-03-30T01:00:00.000Z', '2025-03-31T00:30:00.000Z', '2025-04-01T00:30:00.000Z']);
    // 2025-10-26: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice and runs the first time only.
    expect(runs(c, '2025-10-24T12:00:00Z', 4)).toEqual(['2025-10-25T00:30:00.000Z', '2025-10-26T00:30:00.000Z', '2025-10-27T01:30:00.000Z', '2025-10-28T01:30:00.000Z']);
  });

  it('runs an hourly schedule every real hour through both changes (23 hours on the spring day, 25 on the autumn day)', () => {
    const c = cron('0 * * * *', 'Europe/Berlin');
    const spring = runs(c, '2025-03-29T22:59:59Z', 30).filter((t) => t < '2025-03-30T22:00:00.000Z');
    expect(spring).toHaveLength(23); // local 2025-03-30 00:00 .. 23:00 without 02:00
    expect(new Set(spring.map((t) => t.slice(11, 13))).size).toBe(23);
    const autumn = runs(c, '2025-10-25T21:59:59Z', 30).filter((t) => t < '2025-10-26T23:00:00.000Z');
    expect(autumn).toHaveLength(25);
    expect(autumn.slice(0, 4)).toEqual(['2025-10-25T22:00:00.000Z', '2025-10-25T23:00:00.000Z', '2025-10-26T00:00:00.000Z', '2025-10-26T01:00:00.000Z']);
  });

  it('in New York runs */30 at both passes through the repeated 1 o\'clock hour in November, and skips the missing 2 o\'clock hour in March', () => {
    const november = cron('*/30 1 * * *', 'America/New_York');
    expect(runs(november, '2025-11-01T12:00:00Z', 5)).toEqual(['2025-11-02T05:00:00.000Z', '2025-11-02T05:30:00.000Z', '2025-11-02T06:00:00.000Z', '2025-11-02T06:30:00.000Z', '2025-11-03T06:00:00.000Z']);
    const march = cron('*/30 2 * * *', 'America/New_York');
    expect(runs(march, '2025-03-08T12:00:00Z', 2)).toEqual(['2025-03-10T06:00:00.000Z', '2025-03-10T06:30:00.000Z']);
  });

  it('finds the latest run at or before a time, inclusive, in whole seconds', () => {
    const c = cron('0 * * * *');
    expect(c.latestAtOrBefore(iso('2025-01-01T10:00:00Z'))?.toISOString()).toBe('2025-01-01T10:00:00.000Z');
    expect(c.latestAtOrBefore(iso('2025-01-01T10:00:00.900Z'))?.toISOString()).toBe('2025-01-01T10:00:00.000Z');
    expect(c.latestAtOrBefore(iso('2025-01-01T09:59:59.999Z'))?.toISOString()).toBe('2025-01-01T09:00:00.000Z');
    expect(c.nextAfter(iso('2025-01-01T10:00:00Z'))?.toISOString()).toBe('2025-01-01T11:00:00.000Z');
  });
});

describe('planRun: which run is due', () => {
  const hourly = cron('0 * * * *');
  const base = { policy: 'RunLatest' as const, missedAfterMs: 60_000 };

  it('has nothing due before the first time after since, and says when the next is', () => {
    const p = planRun(hourly, { ...base, since: iso('2025-01-01T10:05:00Z'), now: iso('2025-01-01T10:59:59Z') });
    expect(p).toEqual({ missedEarlier: false, next: iso('2025-01-01T11:00:00Z') });
  });

  it('has the run due at its time, on time, and the next one after it', () => {
    const p = planRun(hourly, { ...base, since: iso('2025-01-01T10:00:00Z'), now: iso('2025-01-01T11:00:00.150Z') });
    expect(p).toEqual({ due: { at: iso('2025-01-01T11:00:00Z'), late: false }, missedEarlier: false, next: iso('2025-01-01T12:00:00Z') });
  });

  it('never has the run at since due again (it was created)', () => {
    const p = planRun(hourly, { ...base, since: iso('2025-01-01T11:00:00Z'), now: iso('2025-01-01T11:30:00Z') });
    expect(p.due).toBeUndefined();
  });

  it('RunLatest after a day of downtime: one run due, the latest missed time, late; the 23 before it dropped', () => {
    const p = planRun(hourly, { ...base, since: iso('2025-01-01T10:00:00Z'), now: iso('2025-01-02T10:20:00Z') });
    expect(p).toEqual({ due: { at: iso('2025-01-02T10:00:00Z'), late: true }, missedEarlier: true, next: iso('2025-01-02T11:00:00Z') });
    // Once it was created (since moves to it), nothing more is due until the next time: no burst.
    expect(planRun(hourly, { ...base, since: iso('2025-01-02T10:00:00Z'), now: iso('2025-01-02T10:20:01Z') }).due).toBeUndefined();
  });

  it('Skip after downtime: nothing due, the latest missed run reported as skipped, the next time kept', () => {
    const p = planRun(hourly, { ...base, policy: 'Skip', since: iso('2025-01-01T10:00:00Z'), now: iso('2025-01-02T10:20:00Z') });
    expect(p).toEqual({ skipped: iso('2025-01-02T10:00:00Z'), missedEarlier: true, next: iso('2025-01-02T11:00:00Z') });
  });

  it('Skip still creates a run that is only a little late (within missedAfterMs)', () => {
    const p = planRun(hourly, { ...base, policy: 'Skip', since: iso('2025-01-01T10:00:00Z'), now: iso('2025-01-01T11:00:59Z') });
    expect(p.due).toEqual({ at: iso('2025-01-01T11:00:00Z'), late: false });
    const q = planRun(hourly, { ...base, policy: 'Skip', since: iso('2025-01-01T10:00:00Z'), now: iso('2025-01-01T11:01:01Z') });
    expect(q.due).toBeUndefined();
    expect(q.skipped).toEqual(iso('2025-01-01T11:00:00Z'));
    expect(q.missedEarlier).toBe(false);
  });

  it('a clock behind since has nothing due and the next time after since', () => {
    const p = planRun(hourly, { ...base, since: iso('2025-01-01T12:00:00Z'), now: iso('2025-01-01T10:30:00Z') });
    expect(p).toEqual({ missedEarlier: false, next: iso('2025-01-01T13:00:00Z') });
  });

  it('a weekly schedule in Berlin after a week of downtime: exactly one catch-up at the last Monday 03:00 local', () => {
    const weekly = cron('0 3 * * MON', 'Europe/Berlin');
    const p = planRun(weekly, { ...base, since: iso('2025-03-17T02:00:00Z'), now: iso('2025-04-01T12:00:00Z') });
    expect(p.due).toEqual({ at: iso('2025-03-31T01:00:00Z'), late: true }); // 03:00 CEST
    expect(p.missedEarlier).toBe(true);
    expect(p.next).toEqual(iso('2025-04-07T01:00:00Z'));
  });
});
