// Object keys of a store are relative to its prefix. Every key passes through here before it
// reaches the wire, so a key can never climb out of the prefix or be rewritten by a server that
// normalises paths (`.`/`..` segments, a leading `/`, empty segments).
import { CairnError } from '../errors.ts';

/** S3's limit on a whole key, in UTF-8 bytes. */
export const maxKeyBytes = 1024;

function describe(key: string): string {
  return JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}...` : key);
}

function checkSegments(what: string, value: string, segments: string[]): void {
  for (const s of segments) {
    if (s === '') throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `${what} ${describe(value)} has an empty path segment ('//'); segments must be non-empty`);
    if (s === '.' || s === '..') throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `${what} ${describe(value)} has a '${s}' segment; '.' and '..' are not allowed`);
  }
}

function checkCharacters(what: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `${what} ${describe(value)} contains a control character; only printable characters are allowed`);
  if (value.startsWith('/')) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `${what} ${describe(value)} starts with '/'; keys are relative to the store's prefix`);
}

/**
 * The store's own prefix, from configuration: surrounding slashes are dropped (`/a/b/` and `a/b`
 * mean the same), '' means the bucket root. Its segments follow the key rules.
 */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  checkCharacters('prefix', trimmed);
  checkSegments('prefix', trimmed, trimmed.split('/'));
  return trimmed;
}

/** A key relative to the prefix: non-empty, no leading '/', no empty, '.' or '..' segments. */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw new CairnError('CAIRN_E_INVALID_ARGUMENT', 'object key is empty; a key names an object under the store prefix');
  checkCharacters('object key', key);
  checkSegments('object key', key, key.split('/'));
}

/**
 * A listing prefix relative to the store's prefix: '' (everything), or key-like text that may end
 * with '/' (a "directory") or in the middle of a segment (`packs/ab` matches `packs/abc.pack`).
 */
export function validateListPrefix(prefix: string): void {
  if (prefix === '') return;
  checkCharacters('list prefix', prefix);
  const segments = prefix.split('/');
  const last = segments.pop();
  checkSegments('list prefix', prefix, segments);
  if (last === '.' || last === '..') throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `list prefix ${describe(prefix)} ends in a '${last}' segment; '.' and '..' are not allowed`);
}

/** `<prefix>/<key>` without double slashes; refuses keys that are not allowed. */
export function joinKey(prefix: string, key: string): string {
  validateKey(key);
  const full = prefix === '' ? key : `${prefix}/${key}`;
  if (Buffer.byteLength(full, 'utf8') > maxKeyBytes) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `object key ${describe(full)} is ${Buffer.byteLength(full, 'utf8')} bytes with the prefix; S3 allows at most ${maxKeyBytes}`);
  }
  return full;
}

/** The bucket-level listing prefix for a relative listing prefix. */
export function joinListPrefix(prefix: string, listPrefix: string): string {
  validateListPrefix(listPrefix);
  if (prefix === '') return listPrefix;
  return `${prefix}/${listPrefix}`;
}

/**
 * The relative key of a key listed by the server, or undefined when it is not under the prefix
 * (a server that answers with keys we did not ask for is not believed).
 */
export function stripPrefix(prefix: string, fullKey: string): string | undefined {
  if (prefix === '') return fullKey === '' ? undefined : fullKey;
  const head = `${prefix}/`;
  if (!fullKey.startsWith(head) || fullKey.length === head.length) return undefined;
  return fullKey.slice(head.length);
}
