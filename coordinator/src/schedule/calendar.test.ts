import { describe, expect, it } from 'vitest';
import { civilTime, isKnownTimeZone, isoWeek, periodKey } from './calendar.ts';

describe('calendar periods in a time zone', () => {
  it('numbers ISO weeks across year ends (weeks start Monday; week 1 holds the first Thursday)', () => {
    expect(isoWeek(2020, 12, 31)).toEqual({ year: 2020, week: 53 });
    expect(isoWeek(2021, 1, 3)).toEqual({ year: 2020, week: 53 }); // Sunday
    expect(isoWeek(2021, 1, 4)).toEqual({ year: 2021, week: 1 }); // Monday
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(2025, 3, 30)).toEqual({ year: 2025, week: 13 }); // Sunday
    expect(isoWeek(2025, 3, 31)).toEqual({ year: 2025, week: 14 });
  });

  it('reads the wall clock and offset of a zone, on both sides of a DST change', () => {
    expect(civilTime(new Date('2025-03-30T00:59:59Z'), 'Europe/Berlin')).toMatchObject({ day: 30, hour: 1, minute: 59, offsetMinutes: 60 });
    expect(civilTime(new Date('2025-03-30T01:00:00Z'), 'Europe/Berlin')).toMatchObject({ day: 30, hour: 3, minute: 0, offsetMinutes: 120 });
    expect(civilTime(new Date('2025-01-01T00:00:00Z'), 'Asia/Kolkata')).toMatchObject({ hour: 5, minute: 30, offsetMinutes: 330 });
    expect(civilTime(new Date('2025-01-01T00:00:00Z'), 'UTC')).toMatchObject({ year: 2025, month: 1, day: 1, hour: 0, offsetMinutes: 0 });
  });

  it('counts the hour repeated when clocks go back as two hours, and the day by the zone\'s date', () => {
    const first = new Date('2025-10-26T00:30:00Z'); // 02:30 CEST
    const second = new Date('2025-10-26T01:30:00Z'); // 02:30 CET
    expect(periodKey(first, 'hour', 'Europe/Berlin')).toBe('2025-10-26T02+0200');
    expect(periodKey(second, 'hour', 'Europe/Berlin')).toBe('2025-10-26T02+0100');
    expect(periodKey(first, 'day', 'Europe/Berlin')).toBe(periodKey(second, 'day', 'Europe/Berlin'));
    // 23:30 UTC on the 31st is already the 1st of the next month in Berlin, and of the next ISO week.
    const late = new Date('2025-03-31T22:30:00Z');
    expect(periodKey(late, 'day', 'UTC')).toBe('2025-03-31');
    expect(periodKey(late, 'day', 'Europe/Berlin')).toBe('2025-04-01');
    expect(periodKey(late, 'month', 'UTC')).toBe('2025-03');
    expect(periodKey(late, 'month', 'Europe/Berlin')).toBe('2025-04');
    expect(periodKey(new Date('2025-03-30T22:30:00Z'), 'week', 'UTC')).toBe('2025-W13');
    expect(periodKey(new Date('2025-03-30T22:30:00Z'), 'week', 'Europe/Berlin')).toBe('2025-W14');
  });

  it('knows IANA zone names and refuses others', () => {
    expect(isKnownTimeZone('Europe/Berlin')).toBe(true);
    expect(isKnownTimeZone('UTC')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus')).toBe(false);
    expect(isKnownTimeZone('')).toBe(false);
  });
});
