import { describe, expect, it } from 'vitest';
import type { BackupPhase } from '../../../common/src/crds.ts';
import { parseSchedule } from './cron.ts';
import { runName } from './names.ts';
import { applyRetention, hasRetention, type RetentionItem, type RetentionPolicy } from './retention.ts';

const item = (at: string | Date, phase: BackupPhase | undefined = 'Completed', name?: string): RetentionItem => {
  const time = typeof at === 'string' ? new Date(at) : at;
  return { name: name ?? runName('s', time), time, phase };
};

/** n runs an hour apart from `start`, all Completed. */
function hourly(start: string, n: number): RetentionItem[] {
  return Array.from({ length: n }, (_, i) => item(new Date(Date.parse(start) + i * 3_600_000)));
}

const names = (items: RetentionItem[]): string[] => items.map((i) => i.name);
const sortedKeep = (d: { keep: Map<string, unknown> }): string[] => [...d.keep.keys()].sort();

describe('applyRetention: keepLast and the basic rules', () => {
  it('keepLast 3 after five runs keeps the three newest and deletes the two oldest, newest first', () => {
    const runs = hourly('2025-01-01T00:00:00Z', 5);
    const d = applyRetention(runs, { keepLast: 3 });
    expect(sortedKeep(d)).toEqual(names(runs.slice(2)).sort());
    expect(d.remove).toEqual([runs[1]!.name, runs[0]!.name]);
    expect(d.keep.get(runs[4]!.name)).toEqual(['last']);
  });

  it('does not depend on the order the Backups come in', () => {
    const runs = hourly('2025-01-01T00:00:00Z', 9);
    const shuffled = [runs[4]!, runs[0]!, runs[8]!, runs[2]!, runs[6]!, runs[1]!, runs[7]!, runs[3]!, runs[5]!];
    const policy = { keepLast: 2, keepHourly: 4 };
    expect(applyRetention(shuffled, policy)).toEqual(applyRetention(runs, policy));
  });

  it('keeps everything without retention, or with every count 0', () => {
    const runs = [...hourly('2025-01-01T00:00:00Z', 4), item('2025-01-02T00:00:00Z', 'Failed'), item('2025-01-03T00:00:00Z', 'InProgress')];
    for (const policy of [undefined, {}, { keepLast: 0, keepDaily: 0 }] as (RetentionPolicy | undefined)[]) {
      expect(hasRetention(policy)).toBe(false);
      const d = applyRetention(runs, policy);
      expect(d.remove).toEqual([]);
      expect(d.keep.size).toBe(runs.length);
    }
  });

  it('never deletes or counts a Backup still running, and leaves one being deleted alone', () => {
    const done = hourly('2025-01-01T00:00:00Z', 4);
    const running = [{ ...item('2025-01-01T10:00:00Z'), phase: undefined }, item('2025-01-01T11:00:00Z', 'New'), item('2025-01-01T12:00:00Z', 'Queued'), item('2025-01-01T13:00:00Z', 'InProgress')];
    const deleting = item('2024-12-31T00:00:00Z', 'Deleting');
    const d = applyRetention([...done, ...running, deleting], { keepLast: 2 });
    for (const r of running) expect(d.keep.get(r.name)).toEqual(['inProgress']);
    expect(d.keep.get(deleting.name)).toEqual(['deleting']);
    // keepLast counts the two newest finished ones, not the running ones.
    expect(d.remove).toEqual([done[1]!.name, done[0]!.name]);
  });

  it('counts PartiallyFailed Backups as candidates like Completed ones', () => {
    const runs = [item('2025-01-01T00:00:00Z'), item('2025-01-01T01:00:00Z', 'PartiallyFailed'), item('2025-01-01T02:00:00Z', 'PartiallyFailed')];
    const d = applyRetention(runs, { keepLast: 2 });
    expect(sortedKeep(d)).toEqual([runs[1]!.name, runs[2]!.name].sort());
    expect(d.remove).toEqual([runs[0]!.name]);
  });

  it('keeps the newest 3 Failed and FailedValidation Backups for diagnosis and deletes older ones; they never count as kept backups', () => {
    const failed = [1, 2, 3, 4, 5].map((h) => item(`2025-01-01T0${h}:30:00Z`, h % 2 ? 'Failed' : 'FailedValidation'));
    const good = hourly('2025-01-01T00:00:00Z', 2);
    const d = applyRetention([...good, ...failed], { keepLast: 1 });
    for (const f of failed.slice(2)) expect(d.keep.get(f.name)).toEqual(['failed']);
    expect(d.remove).toEqual([failed[1]!.name, failed[0]!.name, good[0]!.name]);
    expect(applyRetention([...good, ...failed], { keepLast: 1 }, { keepFailed: 0 }).remove).toHaveLength(6);
  });

  it('always keeps the newest candidate when any count is above 0', () => {
    const runs = [...hourly('2025-01-01T00:00:00Z', 30), item('2025-01-05T00:00:00Z', 'Failed')];
    for (const policy of [{ keepLast: 1 }, { keepHourly: 1 }, { keepDaily: 1 }, { keepWeekly: 1 }, { keepMonthly: 1 }]) {
      expect(applyRetention(runs, policy).keep.has(runs[29]!.name)).toBe(true);
    }
  });

  it('keepDaily keeps the newest of each of the last n days that have a backup, skipping days without one', () => {
    const runs = [
      item('2025-01-01T08:00:00Z'), item('2025-01-01T20:00:00Z'),
      item('2025-01-03T08:00:00Z'), item('2025-01-03T20:00:00Z'),
      // no backup on the 4th
      item('2025-01-05T01:00:00Z'), item('2025-01-05T02:00:00Z'),
    ];
    const d = applyRetention(runs, { keepDaily: 2 });
    expect(sortedKeep(d)).toEqual([runs[3]!.name, runs[5]!.name].sort());
    expect(applyRetention(runs, { keepDaily: 3 }).keep.has(runs[1]!.name)).toBe(true);
  });

  it('counts days in the Schedule\'s time zone: 23:30 UTC is the next day in Berlin', () => {
    const runs = [item('2025-01-01T22:00:00Z'), item('2025-01-01T23:30:00Z')];
    // UTC: one day, whose newest is kept; Berlin: 23:00 on the 1st and 00:30 on the 2nd, two days.
    expect(applyRetention(runs, { keepDaily: 2 }).remove).toEqual([runs[0]!.name]);
    expect(applyRetention(runs, { keepDaily: 2 }, { timeZone: 'Europe/Berlin' }).remove).toEqual([]);
  });
});

// ---- A month of hourly runs, checked against an independent brute force over calendar buckets ----

const zone = 'Europe/Berlin';
const local = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/**
 * Buckets computed another way than calendar.ts: hours as elapsed UTC hours (the same as clock
 * hours in a zone with whole-hour offsets, including the repeated autumn hour), days and months
 * from Swedish-format local date strings, weeks as whole weeks since Monday 1970-01-05.
 */
const buckets = {
  hour: (t: Date) => String(Math.floor(t.getTime() / 3_600_000)),
  day: (t: Date) => local.format(t).slice(0, 10),
  week: (t: Date) => {
    const [y, m, d] = local.format(t).slice(0, 10).split('-').map(Number) as [number, number, number];
    return String(Math.floor((Date.UTC(y, m - 1, d) / 86_400_000 - 4) / 7));
  },
  month: (t: Date) => local.format(t).slice(0, 7),
};

function bruteForce(items: RetentionItem[], policy: RetentionPolicy): Set<string> {
  const candidates = items.filter((i) => i.phase === 'Completed' || i.phase === 'PartiallyFailed');
  const keep = new Set<string>();
  const byTime = [...candidates].sort((a, b) => b.time.getTime() - a.time.getTime());
  for (const c of byTime.slice(0, policy.keepLast ?? 0)) keep.add(c.name);
  const rules: [number | undefined, (t: Date) => string][] = [
    [policy.keepHourly, buckets.hour], [policy.keepDaily, buckets.day], [policy.keepWeekly, buckets.week], [policy.keepMonthly, buckets.month],
  ];
  for (const [n, bucketOf] of rules) {
    const newestOf = new Map<string, RetentionItem>();
    for (const c of candidates) {
      const b = bucketOf(c.time);
      const cur = newestOf.get(b);
      if (!cur || c.time > cur.time) newestOf.set(b, c);
    }
    const newestBuckets = [...newestOf.values()].sort((a, b) => b.time.getTime() - a.time.getTime()).slice(0, n ?? 0);
    for (const c of newestBuckets) keep.add(c.name);
  }
  return keep;
}

/** Hourly runs through March 2025 in Berlin (spring-forward on the 30th), from the real cron. */
function marchOfHourlyRuns(): RetentionItem[] {
  const p = parseSchedule({ schedule: '0 * * * *', timeZone: zone }, new Date('2025-02-28T00:00:00Z'));
  if (!p.ok) throw new Error(p.errors.join());
  const out: RetentionItem[] = [];
  let t = p.schedule.nextAfter(new Date('2025-02-28T22:59:59Z'))!;
  let i = 0;
  while (t < new Date('2025-03-31T22:00:00Z')) {
    i++;
    const day = local.format(t).slice(0, 10);
    // Gaps: every 7th hour, and no backups at all on the 12th and the 19th of the month.
    const missing = i % 7 === 0 || day === '2025-03-12' || day === '2025-03-19';
    if (!missing) out.push(item(t, i % 23 === 0 ? 'Failed' : i % 11 === 0 ? 'PartiallyFailed' : 'Completed'));
    t = p.schedule.nextAfter(t)!;
  }
  // The newest two are still running.
  out.push(item(t, 'InProgress'), item(p.schedule.nextAfter(t)!, 'Queued'));
  return out;
}

describe('applyRetention: grandfather-father-son over a simulated month of hourly runs', () => {
  const runs = marchOfHourlyRuns();
  const policies: RetentionPolicy[] = [
    { keepLast: 5, keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 3 },
    { keepHourly: 48 },
    { keepDaily: 10 },
    { keepWeekly: 3 },
    { keepMonthly: 2 },
    { keepLast: 2, keepDaily: 40 },
    { keepHourly: 2, keepWeekly: 10, keepMonthly: 1 },
  ];

  it('simulates about 720 runs with gaps, failures and two still running', () => {
    expect(runs.length).toBeGreaterThan(550);
    expect(runs.length).toBeLessThan(743);
  });

  for (const policy of policies) {
    it(`keeps exactly the brute-force set for ${JSON.stringify(policy)}, and deletes every other finished Backup but the newest 3 failed`, () => {
      const d = applyRetention(runs, policy, { timeZone: zone });
      const expected = bruteForce(runs, policy);
      const keptCandidates = [...d.keep].filter(([, why]) => !why.includes('failed') && !why.includes('inProgress')).map(([n]) => n);
      expect(new Set(keptCandidates)).toEqual(expected);
      const failed = runs.filter((r) => r.phase === 'Failed').sort((a, b) => b.time.getTime() - a.time.getTime());
      const expectedRemoved = runs
        .filter((r) => ((r.phase === 'Completed' || r.phase === 'PartiallyFailed') && !expected.has(r.name)) || failed.slice(3).includes(r))
        .sort((a, b) => b.time.getTime() - a.time.getTime())
        .map((r) => r.name);
      expect(d.remove).toEqual(expectedRemoved);
      for (const r of runs.filter((x) => x.phase === 'InProgress' || x.phase === 'Queued')) expect(d.keep.get(r.name)).toEqual(['inProgress']);
      // Nothing is both kept and removed, and every Backup is one or the other.
      expect(d.remove.filter((n) => d.keep.has(n))).toEqual([]);
      expect(d.keep.size + d.remove.length).toBe(runs.length);
    });
  }

  it('with keepDaily 7 keeps the last run of each of the last 7 days that had backups (the 30th has 23 hours)', () => {
    const d = applyRetention(runs, { keepDaily: 7 }, { timeZone: zone });
    const kept = [...d.keep].filter(([, why]) => why.includes('daily')).map(([n]) => runs.find((r) => r.name === n)!);
    expect(kept.map((r) => local.format(r.time).slice(0, 10)).sort()).toEqual(['2025-03-25', '2025-03-26', '2025-03-27', '2025-03-28', '2025-03-29', '2025-03-30', '2025-03-31']);
    for (const r of kept) {
      const sameDay = runs.filter((x) => (x.phase === 'Completed' || x.phase === 'PartiallyFailed') && local.format(x.time).slice(0, 10) === local.format(r.time).slice(0, 10));
      expect(r.time.getTime()).toBe(Math.max(...sameDay.map((x) => x.time.getTime())));
    }
  });

  it('with keepDaily 20 skips the 12th and the 19th, which had no backups, and reaches back to the 10th', () => {
    const d = applyRetention(runs, { keepDaily: 20 }, { timeZone: zone });
    const days = [...d.keep].filter(([, why]) => why.includes('daily')).map(([n]) => local.format(runs.find((r) => r.name === n)!.time).slice(0, 10)).sort();
    expect(days).toHaveLength(20);
    expect(days[0]).toBe('2025-03-10');
    expect(days).not.toContain('2025-03-12');
    expect(days).not.toContain('2025-03-19');
  });

  it('with keepWeekly 5 keeps the newest run of ISO weeks 10 to 14 of 2025 (Monday to Sunday in Berlin)', () => {
    const d = applyRetention(runs, { keepWeekly: 5 }, { timeZone: zone });
    const kept = [...d.keep].filter(([, why]) => why.includes('weekly')).map(([n]) => local.format(runs.find((r) => r.name === n)!.time)).sort();
    // Sundays 23:00 closing weeks 10-13 (or the latest earlier hour with a backup) and the 31st (week 14).
    expect(kept.map((s) => s.slice(0, 10))).toEqual(['2025-03-09', '2025-03-16', '2025-03-23', '2025-03-30', '2025-03-31']);
  });
});
