import { describe, expect, it } from 'vitest';
import { assertCapabilities, capabilityMask, parseCapabilities } from './capabilities.ts';

const status = (eff: string, prm = eff, inh = '0000000000000000', amb = '0000000000000000') =>
  `Name:\tnode\nCapInh:\t${inh}\nCapPrm:\t${prm}\nCapEff:\t${eff}\nCapBnd:\t000001ffffffffff\nCapAmb:\t${amb}\n`;

describe('job capabilities', () => {
  it('masks', () => {
    expect(capabilityMask(['CAP_DAC_READ_SEARCH'])).toBe(0x4n);
    expect(capabilityMask(['CAP_CHOWN', 'CAP_FOWNER', 'CAP_DAC_OVERRIDE'])).toBe(0xbn);
    expect(parseCapabilities(status('0000000000000004')).CapEff).toBe(4n);
  });

  it('a backup job with only CAP_DAC_READ_SEARCH passes; one that kept CAP_SYS_ADMIN (bit 21) is refused', () => {
    expect(() => assertCapabilities(['CAP_DAC_READ_SEARCH'], status('0000000000000004'))).not.toThrow();
    expect(() => assertCapabilities(['CAP_DAC_READ_SEARCH'], status('0000000000200004'))).toThrow(expect.objectContaining({ code: 'CAIRN_E_SANDBOX' }));
  });

  it('checks the permitted, inheritable and ambient sets too', () => {
    expect(() => assertCapabilities(['CAP_DAC_READ_SEARCH'], status('0000000000000004', '0000000000200004'))).toThrow(/CapPrm/);
    expect(() => assertCapabilities(['CAP_DAC_READ_SEARCH'], status('0000000000000004', '0000000000000004', '0000000000000001'))).toThrow(/CapInh/);
    expect(() => assertCapabilities(['CAP_DAC_READ_SEARCH'], status('0000000000000004', '0000000000000004', '0000000000000000', '0000000000000008'))).toThrow(/CapAmb/);
  });

  it('a restore job with exactly its three passes', () => {
    expect(() => assertCapabilities(['CAP_CHOWN', 'CAP_FOWNER', 'CAP_DAC_OVERRIDE'], status('000000000000000b'))).not.toThrow();
  });
});
