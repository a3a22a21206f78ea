import { describe, expect, it } from 'vitest';
import { apiException, FakeApi, fakeCtx } from './fake-ctx.ts';
import { scheduleCreate, schedulePause } from './schedule.ts';

describe('schedules', () => {
  it('create puts the selection into the template; pause and unpause update spec.paused, again after a conflict', async () => {
    const api = new FakeApi().put('BackupStorageLocation', { metadata: { name: 'main', namespace: 'team-a' } });
    const ctx = fakeCtx({ api });
    await scheduleCreate(ctx, { command: 'schedule create', name: 's', schedule: '@daily', paused: false, excludeVolumes: ['cache'], retention: { keepLast: 3 } });
    expect(api.objects.get('Schedule/team-a/s')).toMatchObject({ spec: { schedule: '@daily', retention: { keepLast: 3 }, template: { storageLocation: 'main', excludeVolumes: ['cache'] } } });
    api.fail('replace Schedule', apiException(409, 'Conflict', 'the object has been modified'));
    expect(await schedulePause(ctx, 's', true)).toBe(0);
    expect(api.objects.get('Schedule/team-a/s')).toMatchObject({ spec: { paused: true } });
    expect(api.calls.filter((c) => c === 'replace Schedule')).toHaveLength(2);
    await schedulePause(ctx, 's', true);
    expect(ctx.stdout()).toBe('schedule.cairn.dev/s created\nschedule.cairn.dev/s paused\nschedule.cairn.dev/s already paused\n');
  });
});
