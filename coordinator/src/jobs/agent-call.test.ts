import { describe, expect, it } from 'vitest';
import { CairnError } from '../../../common/src/errors.ts';
import { callAgent } from './agent-call.ts';

const signal = new AbortController().signal;

describe('callAgent', () => {
  it('waits out CAIRN_E_BUSY and returns the result once the node has a slot', async () => {
    let n = 0;
    const waits: string[] = [];
    const r = await callAgent('n1', () => (++n < 3 ? Promise.reject(new CairnError('CAIRN_E_BUSY', 'full')) : Promise.resolve('ok')), { signal, delayMs: () => 1, onWait: (w) => waits.push(w) });
    expect(r).toBe('ok');
    expect(waits).toEqual(['waiting for a free job slot on node n1', 'waiting for a free job slot on node n1']);
  });

  it('gives up on an unreachable agent after a few attempts, and never retries other errors', async () => {
    let n = 0;
    await expect(callAgent('n1', () => { n++; return Promise.reject(new CairnError('CAIRN_E_AGENT_UNAVAILABLE', 'down')); }, { signal, delayMs: () => 1 })).rejects.toMatchObject({ code: 'CAIRN_E_AGENT_UNAVAILABLE' });
    expect(n).toBe(3);
    n = 0;
    await expect(callAgent('n1', () => { n++; return Promise.reject(new CairnError('CAIRN_E_AUTH', 'impostor')); }, { signal, delayMs: () => 1 })).rejects.toMatchObject({ code: 'CAIRN_E_AUTH' });
    expect(n).toBe(1);
  });
});
