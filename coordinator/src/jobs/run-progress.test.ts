import { describe, expect, it } from 'vitest';
import { RunProgress } from './run-progress.ts';

describe('RunProgress', () => {
  it('sums the volumes, counting what is done where a total is not known yet', () => {
    const p = new RunProgress();
    const a = p.add({ pvc: 'a', phase: 'InProgress' });
    const b = p.add({ pvc: 'b', phase: 'Pending' });
    p.report(a, { bytesDone: 10, totalBytes: 100, filesDone: 1, totalFiles: 4 });
    p.report(b, { bytesDone: 7, filesDone: 2 }); // a backup walks as it goes: totals unknown
    expect(p.total()).toEqual({ bytesDone: 17, totalBytes: 107, filesDone: 3, totalFiles: 6 });
    expect(p.volumes[a]).toMatchObject({ bytes: 10, files: 1 });
  });

  it('update removes fields set to undefined, and a snapshot is a copy', () => {
    const p = new RunProgress();
    const i = p.add({ pvc: 'a', message: 'waiting' });
    const snap = p.snapshot();
    p.update(i, { message: undefined, phase: 'Completed' });
    expect(p.volumes[i]).toEqual({ pvc: 'a', phase: 'Completed' });
    expect(snap.volumes[0]).toEqual({ pvc: 'a', message: 'waiting' });
  });
});
