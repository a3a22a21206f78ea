// Kubernetes resource quantities ("1Gi", "500M", "1.5Gi", "1e9") as a whole number of bytes.
// client-node's quantityToScalar throws on decimals with a suffix ("1.5Gi"), which the API accepts.
import { CairnError } from '../../../common/src/errors.ts';

const suffixes: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** Bytes of a storage quantity, rounded up to a whole byte (as the API server rounds). */
export function quantityBytes(quantity: string): number {
  const m = /^([+]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m|u|n)?)$/.exec(quantity.trim());
  if (!m) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `"${quantity}" is not a Kubernetes quantity`);
  const mantissa = Number(m[1]);
  let value: number;
  if (m[2] !== undefined) value = Number(`${m[1]}${m[2]}`);
  else if (m[3] === 'm') value = mantissa / 1e3;
  else if (m[3] === 'u') value = mantissa / 1e6;
  else if (m[3] === 'n') value = mantissa / 1e9;
  else value = mantissa * suffixes[m[3] ?? '']!;
  if (!Number.isFinite(value)) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `"${quantity}" is too large`);
  return Math.ceil(value);
}
