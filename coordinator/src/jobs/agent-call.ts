// An agent call that waits out a busy node: the agent refuses a job with CAIRN_E_BUSY when all its
// slots are taken (another coordinator, a restarted agent with fewer slots, jobs of a run this
// coordinator lost track of); the run waits and asks again instead of failing the volume. An
// unreachable agent is asked again a few times (it may be restarting).
import { setTimeout as sleep } from 'node:timers/promises';
import { isCairnError } from '../../../common/src/errors.ts';

export interface AgentCallOptions {
  signal: AbortSignal;
  /** Called before each wait, with why. */
  onWait?: (why: string) => void;
  /** How long to wait out a busy node in all. Default 30 min. */
  busyForMs?: number;
  unavailableAttempts?: number;
  delayMs?: (attempt: number) => number;
}

export async function callAgent<T>(node: string, call: () => Promise<T>, o: AgentCallOptions): Promise<T> {
  const started = Date.now();
  const delay = o.delayMs ?? ((n: number) => Math.min(1_000 * 2 ** Math.min(n, 4), 15_000) * (0.5 + Math.random() / 2));
  let unavailable = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      o.signal.throwIfAborted();
      if (isCairnError(err, 'CAIRN_E_BUSY') && Date.now() - started < (o.busyForMs ?? 30 * 60_000)) {
        o.onWait?.(`waiting for a free job slot on node ${node}`);
      } else if (isCairnError(err, 'CAIRN_E_AGENT_UNAVAILABLE') && ++unavailable < (o.unavailableAttempts ?? 3)) {
        o.onWait?.(`the agent on node ${node} is unreachable; trying again`);
      } else {
        throw err;
      }
      await sleep(delay(attempt), undefined, { signal: o.signal });
    }
  }
}
