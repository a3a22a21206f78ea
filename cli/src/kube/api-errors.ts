// What went wrong in a call to the API server, as the CLI's CliError: the reason word and exit code
// follow the HTTP status (403 Forbidden, 404 NotFound, 409 AlreadyExists, 422 Invalid, ...) and
// the message is the API server's own (it names the user, the resource and the field), after
// what the command was doing.
import { CliError, type Reason } from '../exit.ts';

/** The Status object the API server sends with an error (metav1.Status), as far as it is read. */
interface StatusBody {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string }[] };
}

export interface KubeFailure {
  /** HTTP status; absent when no answer came (connection refused, DNS, TLS). */
  status?: number;
  /** The Status reason (NotFound, AlreadyExists, Invalid, Forbidden, ...). */
  reason?: string;
  message: string;
  /** Whether a 404 named an object (`backups.cairn.dev "x" not found`) rather than a missing resource type. */
  namedObject: boolean;
}

function statusBody(body: unknown): StatusBody | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return body.trim() === '' ? undefined : { message: body.trim() };
    }
  }
  return body !== null && typeof body === 'object' ? (body) : undefined;
}

/** Reads client-node's ApiException (code, body) or a network error. */
export function kubeFailure(err: unknown): KubeFailure {
  const e = err as { code?: unknown; body?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  if (typeof e?.code === 'number') {
    const body = statusBody(e.body);
    const message = body?.message ?? (e.code === 401 ? 'Unauthorized: the credentials of the kubeconfig were not accepted' : `HTTP ${e.code}`);
    return {
      status: e.code,
      ...(body?.reason === undefined ? {} : { reason: body.reason }),
      message,
      namedObject: body?.details?.name !== undefined,
    };
  }
  // fetch wraps the socket error in `cause` (ECONNREFUSED, ENOTFOUND, certificate errors).
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : typeof e?.code === 'string' ? e.code : undefined;
  const text = typeof e?.cause?.message === 'string' ? e.cause.message : typeof e?.message === 'string' ? e.message : String(err);
  return { message: code && !text.includes(code) ? `${code}: ${text}` : text, namedObject: false };
}

export interface FailureContext {
  /** What was being done, e.g. `create Backup team-a/nightly`. */
  action: string;
  /** The message for a 404 of a named object, e.g. `backup "x" not found in namespace team-a`. */
  notFound?: string;
  /** The message for a 404 of the resource type itself (the CRD is not installed). */
  notInstalled?: string;
  /** Said after the API server's message on a 403. */
  forbiddenHint?: string;
  /** The API server's URL, for an unreachable server. */
  server?: string;
}

/** The CliError for a failed API call. */
export function apiError(err: unknown, ctx: FailureContext): CliError {
  if (err instanceof CliError) return err;
  const f = kubeFailure(err);
  const fail = (reason: Reason, message: string): CliError => new CliError(reason, message, { cause: err });
  switch (f.status) {
    case undefined:
      return fail('Unreachable', `cannot ${ctx.action}: the API server${ctx.server ? ` at ${ctx.server}` : ''} could not be reached: ${f.message}`);
    case 401:
      return fail('Unauthorized', `cannot ${ctx.action}: ${f.message}`);
    case 403:
      return fail('Forbidden', `cannot ${ctx.action}: ${f.message}${ctx.forbiddenHint ? `; ${ctx.forbiddenHint}` : ''}`);
    case 404:
      if (!f.namedObject && ctx.notInstalled) return fail('NotInstalled', ctx.notInstalled);
      if (!f.namedObject && f.reason === 'NotFound' && /could not find the requested resource/.test(f.message)) {
        return fail('NotInstalled', `cannot ${ctx.action}: the cairn.dev API is not installed in this cluster (${f.message}); apply Cairn's CRDs (manifests/crds)`);
      }
      return fail('NotFound', ctx.notFound ?? `cannot ${ctx.action}: ${f.message}`);
    case 409:
      return fail(f.reason === 'AlreadyExists' ? 'AlreadyExists' : 'ApiError', `cannot ${ctx.action}: ${f.message}`);
    case 400:
    case 422:
      return fail('Invalid', `cannot ${ctx.action}: ${f.message}`);
    default:
      return fail('ApiError', `cannot ${ctx.action}: HTTP ${f.status}: ${f.message}`);
  }
}

/** Whether the error is the API server's 404. */
export function isNotFound(err: unknown): boolean {
  return kubeFailure(err).status === 404;
}
