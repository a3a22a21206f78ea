// Calendar periods of an instant as a clock in an IANA time zone shows it: the hour, day, ISO
// week and month it falls in. Retention keeps "the newest backup of each of the last n days"
// with these as the days, so a day is midnight to midnight where the Schedule runs.
//
// An hour is the zone's clock hour together with its UTC offset, so the hour that repeats when
// the clocks go back (02:00-03:00 twice in Europe/Berlin in October) is two hours, as it is on
// a watch; days, weeks and months are the zone's calendar dates.

export type Period = 'hour' | 'day' | 'week' | 'month';

export interface CivilTime {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
  /** 0-23 */
  hour: number;
  minute: number;
  second: number;
  /** Minutes east of UTC at that instant. */
  offsetMinutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is a zone name this runtime knows (Intl, the same data croner uses). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time in `timeZone` at `at`. Throws a RangeError for an unknown zone. */
export function civilTime(at: Date, timeZone: string): CivilTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(at)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const c = { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
  const wall = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second);
  const instant = Math.floor(at.getTime() / 1000) * 1000;
  return { ...c, offsetMinutes: Math.round((wall - instant) / 60_000) };
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** ISO 8601 week-numbering year and week (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  const thursday = new Date(date + (3 - weekday) * 86_400_000);
  const isoYear = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * 86_400_000));
  return { year: isoYear, week };
}

/** A key naming the period of `period` that `at` falls in, in `timeZone`; equal keys, same period. */
export function periodKey(at: Date, period: Period, timeZone: string): string {
  const c = civilTime(at, timeZone);
  switch (period) {
    case 'hour': {
      const off = Math.abs(c.offsetMinutes);
      return `${c.year}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}${c.offsetMinutes >= 0 ? '+' : '-'}${pad(Math.floor(off / 60))}${pad(off % 60)}`;
    }
    case 'day':
      return `${c.year}-${pad(c.month)}-${pad(c.day)}`;
    case 'week': {
      const w = isoWeek(c.year, c.month, c.day);
      return `${w.year}-W${pad(w.week)}`;
    }
    case 'month':
      return `${c.year}-${pad(c.month)}`;
  }
}
