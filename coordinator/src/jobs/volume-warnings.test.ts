import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/src/logger.ts';
import { VolumeWarnings } from './volume-warnings.ts';

function logLines(): { lines: Array<Record<string, unknown>>; log: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ component: 'test', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { lines, log };
}

describe('VolumeWarnings', () => {
  it('keeps the first warning for the status line and logs the first ones with their path', () => {
    const { lines, log } = logLines();
    const w = new VolumeWarnings(log, 2);
    expect(w.summary(0)).toBe('');
    w.onWarning({ code: 'CAIRN_W_SETID_STRIPPED', message: 'setuid/setgid bits are never restored', path: Buffer.from('bin/tool') });
    w.onWarning({ code: 'CAIRN_W_XATTR_SKIPPED', message: 'not restored', path: Buffer.from([0x61, 0xff]) });
    w.onWarning({ code: 'CAIRN_W_XATTR_SKIPPED', message: 'not restored', path: Buffer.from('c') });
    expect(w.summary(3)).toBe(', 3 warnings (first: CAIRN_W_SETID_STRIPPED on "bin/tool": setuid/setgid bits are never restored)');
    expect(w.summary(1)).toMatch(/^, 1 warning \(first/);
    expect(lines.map((l) => [l.code, l.path])).toEqual([['CAIRN_W_SETID_STRIPPED', '"bin/tool"'], ['CAIRN_W_XATTR_SKIPPED', '"a\uFFFD"']]);
  });

  it('counts warnings it never saw (the agent counts all, sends the first ones)', () => {
    const { log } = logLines();
    expect(new VolumeWarnings(log).summary(5)).toBe(', 5 warnings');
  });

  it('cuts a long path', () => {
    const { log } = logLines();
    const w = new VolumeWarnings(log);
    w.onWarning({ code: 'CAIRN_W_FILE_CHANGED', message: 'changed', path: Buffer.from('x'.repeat(5000)) });
    expect(w.summary(1).length).toBeLessThan(300);
  });
});
