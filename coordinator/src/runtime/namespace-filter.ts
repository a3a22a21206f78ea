// Watched namespaces (DESIGN 3.1): admin-configured globs with exclusions, plus the admin
// namespace. A namespace is watched when it is the admin namespace, or when it matches an
// include pattern and no exclusion (`!pattern`). Exclusions always win, whatever their order.
// With exclusions only, every namespace not excluded is watched; with no pattern at all, only
// the admin namespace is.
import { Minimatch } from 'minimatch';
import { CairnError } from '../../../common/src/errors.ts';

export type NamespaceFilter = (namespace: string) => boolean;

export interface WatchedNamespaces {
  /** Glob patterns; a leading `!` makes one an exclusion. */
  patterns: readonly string[];
  /** Always watched, even when a pattern excludes it. */
  adminNamespace: string;
}

// Namespace names are DNS-1123 labels: lowercase letters, digits and '-'. A pattern may add the
// glob characters '*', '?', '[...]' and '{a,b}'; anything else (upper case, '_', '/', '.') could
// never match and is a typo worth refusing.
const patternChars = /^[a-z0-9*?[\]{},-]+$/;

/** Throws CAIRN_E_INVALID_ARGUMENT naming the pattern when one is malformed. */
export function validateNamespacePattern(pattern: string, field = 'watchNamespaces'): void {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
  if (body.length === 0 || body.length > 63 + 16 || !patternChars.test(body)) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `${field}: ${JSON.stringify(pattern)} is not a namespace glob: use lowercase letters, digits, '-', and the glob characters * ? [...] {a,b}, with an optional leading '!' to exclude`);
  }
}

function compile(pattern: string): Minimatch {
  return new Minimatch(pattern, { nonegate: true, nocomment: true, noext: true, dot: true });
}

/** Compiles the admin's patterns once; the filter is called for every object seen. */
export function namespaceFilter(w: WatchedNamespaces): NamespaceFilter {
  for (const p of w.patterns) validateNamespacePattern(p);
  const include = w.patterns.filter((p) => !p.startsWith('!')).map(compile);
  const exclude = w.patterns.filter((p) => p.startsWith('!')).map((p) => compile(p.slice(1)));
  const includeAll = include.length === 0 && exclude.length > 0;
  const memo = new Map<string, boolean>();
  return (ns) => {
    if (ns === w.adminNamespace) return true;
    const hit = memo.get(ns);
    if (hit !== undefined) return hit;
    const watched = (includeAll || include.some((m) => m.match(ns))) && !exclude.some((m) => m.match(ns));
    if (memo.size > 10_000) memo.clear(); // namespaces come and go; keep the memo bounded
    memo.set(ns, watched);
    return watched;
  };
}
