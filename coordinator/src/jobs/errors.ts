// What a failed step of a run puts into status: a stable code and a message for the tenant. A
// CairnError's message is written for that already; a Kubernetes API error becomes "HTTP <code>:
// <the API server's message>" (never client-node's dump of headers and body); anything else is
// named by its type only.
import { CairnError, codeOf, type ErrorCode } from '../../../common/src/errors.ts';

export function describeError(err: unknown, doing?: string): { code: ErrorCode; message: string } {
  const prefix = doing ? `${doing}: ` : '';
  if (err instanceof CairnError) return { code: err.code, message: `${prefix}${err.message}`.slice(0, 1024) };
  const status = (err as { code?: unknown } | null)?.code;
  if (typeof status === 'number') {
    let apiMessage = '';
    try {
      const body: unknown = JSON.parse(String((err as { body?: unknown }).body));
      const m = (body as { message?: unknown } | null)?.message;
      if (typeof m === 'string') apiMessage = m;
    } catch {
      // not a Status object
    }
    const code: ErrorCode = status === 404 ? 'CAIRN_E_NOT_FOUND' : 'CAIRN_E_INTERNAL';
    return { code, message: `${prefix}the Kubernetes API answered HTTP ${status}${apiMessage ? `: ${apiMessage}` : ''}`.slice(0, 1024) };
  }
  return { code: codeOf(err), message: `${prefix}unexpected ${err instanceof Error ? err.name : typeof err}` };
}
