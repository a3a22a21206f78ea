import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../../common/src/errors.ts';
import { quantityBytes } from './quantity.ts';

describe('quantityBytes', () => {
  it('reads binary and decimal suffixes', () => {
    expect(quantityBytes('1Gi')).toBe(1073741824);
    expect(quantityBytes('500M')).toBe(500_000_000);
    expect(quantityBytes('1.5Gi')).toBe(1610612736);
    expect(quantityBytes('10Ki')).toBe(10240);
    expect(quantityBytes('2k')).toBe(2000);
  });

  it('reads plain numbers and exponents, rounding up to a byte', () => {
    expect(quantityBytes('1024')).toBe(1024);
    expect(quantityBytes('1e9')).toBe(1e9);
    expect(quantityBytes('100m')).toBe(1);
  });

  it('refuses what is not a quantity', () => {
    let err: unknown;
    try {
      quantityBytes('1 GB');
    } catch (e) {
      err = e;
    }
    expect(isCairnError(err, 'CAIRN_E_INVALID_ARGUMENT')).toBe(true);
  });
});
