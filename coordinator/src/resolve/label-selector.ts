// Kubernetes LabelSelector semantics (matchLabels and matchExpressions, all must hold).
import type { V1LabelSelector } from '@kubernetes/client-node';
import { CairnError } from '../../../common/src/errors.ts';

export function matchesSelector(selector: V1LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `podSelector.matchExpressions: operator ${e.operator} is not one of In, NotIn, Exists, DoesNotExist`);
    }
  }
  return true;
}
