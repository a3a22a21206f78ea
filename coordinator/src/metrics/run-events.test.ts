import { describe, expect, it } from 'vitest';
import { errorLabel, runEvents, type RunObject } from './run-events.ts';

function run(phase: string | undefined, o: Partial<NonNullable<RunObject['status']>> = {}, labels?: Record<string, string>): RunObject {
  return {
    metadata: { namespace: 'team-a', creationTimestamp: '2026-01-01T00:00:00Z', ...(labels ? { labels } : {}) },
    status: { ...(phase ? { phase } : {}), ...o },
  };
}

describe('runEvents', () => {
  it('a run that starts: its wait from creation to start', () => {
    const e = runEvents('Backup', run('InProgress', { startTimestamp: '2026-01-01T00:00:42Z' }), run('Queued'));
    expect(e).toEqual({ started: { kind: 'Backup', namespace: 'team-a', waitSeconds: 42 } });
  });

  it('a run that finishes: phase, duration, bytes and files of completed volumes, errors of failed ones', () => {
    const started = { startTimestamp: '2026-01-01T00:01:00Z' };
    const e = runEvents('Backup', run('PartiallyFailed', {
      ...started, completionTimestamp: '2026-01-01T00:03:30Z', errorCode: 'CAIRN_E_VOLUME_REFUSED',
      volumes: [
        { phase: 'Completed', bytes: 1000, files: 3 }, { phase: 'Completed', bytes: 24, files: 1 },
        { phase: 'Failed', errorCode: 'CAIRN_E_MOUNT_MISMATCH' }, { phase: 'Failed', errorCode: 'CAIRN_E_MOUNT_MISMATCH' },
        { phase: 'Failed', errorCode: 'not-a-code' }, { phase: 'Skipped' },
      ],
    }), run('InProgress', started));
    expect(e.started).toBeUndefined();
    expect(e.finished).toEqual({
      kind: 'Backup', namespace: 'team-a', phase: 'PartiallyFailed', durationSeconds: 150, bytes: 1024, files: 4,
      errors: new Map([['CAIRN_E_MOUNT_MISMATCH', 2], ['CAIRN_E_INTERNAL', 1]]),
    });
  });

  it('a run that failed without a failed volume counts its own code once', () => {
    const e = runEvents('Restore', run('Failed', { errorCode: 'CAIRN_E_STORE_ACCESS_DENIED', startTimestamp: '2026-01-01T00:00:01Z', completionTimestamp: '2026-01-01T00:00:02Z' }), run('InProgress', { startTimestamp: '2026-01-01T00:00:01Z' }));
    expect(e.finished?.errors).toEqual(new Map([['CAIRN_E_STORE_ACCESS_DENIED', 1]]));
    expect(e.finished?.bytes).toBe(0);
  });

  it('FailedValidation finishes without a duration', () => {
    const e = runEvents('Backup', run('FailedValidation', { errorCode: 'CAIRN_E_INVALID_ARGUMENT', completionTimestamp: '2026-01-01T00:00:01Z' }), run('New'));
    expect(e.finished).toMatchObject({ phase: 'FailedValidation', errors: new Map([['CAIRN_E_INVALID_ARGUMENT', 1]]) });
    expect(e.finished).not.toHaveProperty('durationSeconds');
  });

  it('a run seen only before and after (a relist) both starts and finishes', () => {
    const e = runEvents('Restore', run('Completed', { startTimestamp: '2026-01-01T00:00:05Z', completionTimestamp: '2026-01-01T00:00:09Z', volumes: [{ phase: 'Completed', bytes: 7, files: 1 }] }), run('Queued'));
    expect(e.started?.waitSeconds).toBe(5);
    expect(e.finished).toMatchObject({ phase: 'Completed', durationSeconds: 4, bytes: 7 });
  });

  it('counts nothing for progress, a final run changing again, Deleting, or a synced Backup', () => {
    const s = { startTimestamp: '2026-01-01T00:00:05Z' };
    expect(runEvents('Backup', run('InProgress', { ...s, volumes: [{ phase: 'Completed', bytes: 1 }] }), run('InProgress', s))).toEqual({});
    expect(runEvents('Backup', run('Completed', s), run('Completed', s))).toEqual({});
    expect(runEvents('Backup', run('Deleting', s), run('Completed', s))).toEqual({});
    expect(runEvents('Backup', run('Completed', { ...s, volumes: [{ phase: 'Completed', bytes: 9 }] }, { 'cairn.dev/synced': 'true' }), run(undefined))).toEqual({});
  });
});

describe('errorLabel', () => {
  it('keeps registry codes and maps anything else to CAIRN_E_INTERNAL', () => {
    expect(errorLabel('CAIRN_E_BUSY')).toBe('CAIRN_E_BUSY');
    expect(errorLabel('CAIRN_E_MADE_UP')).toBe('CAIRN_E_INTERNAL');
    expect(errorLabel(undefined)).toBe('CAIRN_E_INTERNAL');
  });
});
