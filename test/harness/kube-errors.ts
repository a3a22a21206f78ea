// Status codes of client-node's ApiException, without depending on message text.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;
export const isForbidden = (err: unknown): boolean => statusCode(err) === 403;

/** Request options that send the body as a JSON merge patch. */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Request options that send the body as a server-side apply patch. */
export const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
