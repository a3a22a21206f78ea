// The job checks its own capabilities before touching anything: bubblewrap is told to drop all
// but the job's few (run-sandboxed.ts), and this makes sure that happened, whatever bwrap version
// or container runtime is underneath (an agent container without some capability must not end
// up running jobs with more than the job needs). Any capability outside the job's set in the
// effective, permitted, inheritable or ambient set fails the job with CAIRN_E_SANDBOX.
import { readFileSync } from 'node:fs';
import { CairnError } from '../../../common/src/errors.ts';

/** Capability numbers (linux/capability.h) of the names the agent uses. */
export const capabilityBits: Readonly<Record<string, number>> = { CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3 };

export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const bit = capabilityBits[n];
    if (bit === undefined) throw new CairnError('CAIRN_E_INTERNAL', `unknown capability ${n}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** The capability sets of a /proc/<pid>/status text. */
export function parseCapabilities(status: string): Record<'CapInh' | 'CapPrm' | 'CapEff' | 'CapAmb', bigint> {
  const get = (k: string): bigint => {
    const m = new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    if (!m) throw new CairnError('CAIRN_E_SANDBOX', `cannot read ${k} of the job process`);
    return BigInt(`0x${m[1]}`);
  };
  return { CapInh: get('CapInh'), CapPrm: get('CapPrm'), CapEff: get('CapEff'), CapAmb: get('CapAmb') };
}

/** Throws CAIRN_E_SANDBOX when the process holds a capability outside `allowed`. */
export function assertCapabilities(allowed: readonly string[], status = readFileSync('/proc/self/status', 'utf8')): void {
  const mask = capabilityMask(allowed);
  for (const [set, value] of Object.entries(parseCapabilities(status))) {
    const extra = value & ~mask;
    if (extra !== 0n) throw new CairnError('CAIRN_E_SANDBOX', `the job sandbox left capabilities the job must not have (${set} has 0x${extra.toString(16)} beyond 0x${mask.toString(16)}); refusing to run`);
  }
}
