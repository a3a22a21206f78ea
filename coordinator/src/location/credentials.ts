// The two Secrets a BackupStorageLocation names, read from the data of a Secret object:
//  - spec.credential {name, key}: an AWS shared-credentials file (as Velero's), whose [default]
//    profile holds aws_access_key_id, aws_secret_access_key and optionally aws_session_token;
//  - spec.encryption.keySecret {name, key}: the AES-256-GCM key, exactly 32 bytes, stored either
//    as the 32 raw bytes or as their base64 text (44 characters, one trailing newline allowed).
// Errors name the Secret, the key and (for the file) the line, never a value. See docs/locations.md.
import { Secret } from '../../../common/src/secret.ts';
import type { S3Credentials } from '../../../common/src/store/object-store.ts';
import { LocationError, type LocationReason } from './reasons.ts';

/** Just what is read of a Secret object: `data` values are base64, as the API returns them. */
export interface SecretData {
  data?: Record<string, string> | undefined;
}

export interface SecretRef {
  namespace: string;
  name: string;
  key: string;
}

export function describeRef(ref: SecretRef): string {
  return `key ${JSON.stringify(ref.key)} of Secret ${ref.namespace}/${ref.name}`;
}

/** The bytes under `ref.key`; a missing key is `missing` naming the Secret, the key and the keys it has. */
export function secretBytes(secret: SecretData, ref: SecretRef, missing: LocationReason): Buffer {
  const value = secret.data?.[ref.key];
  if (value === undefined) {
    const keys = Object.keys(secret.data ?? {}).sort();
    const has = keys.length === 0 ? 'it has no data' : `it has ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
    throw new LocationError(missing, `Secret ${ref.namespace}/${ref.name} has no key ${JSON.stringify(ref.key)} (${has})`);
  }
  return Buffer.from(value, 'base64');
}

const credentialKeys = ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token'] as const;
type CredentialKey = (typeof credentialKeys)[number];

/**
 * Parses an AWS shared-credentials file and returns its [default] profile. Follows what the AWS
 * SDKs and CLI accept: `[profile]` headers, `key = value` (or `key: value`) lines, keys
 * case-insensitive, `#` and `;` comment lines; other profiles and other keys are ignored.
 * Stricter where the SDKs would silently do something surprising: a duplicate [default] profile
 * or a duplicate key in it, a line that is neither, a value with spaces or control characters.
 * `where` names the source in errors ("key "cloud" of Secret team-a/creds").
 */
export function parseAwsCredentials(text: string, where: string): Secret<S3Credentials> {
  const fail = (why: string): never => {
    throw new LocationError('CredentialSecretInvalid', `${where} is not a usable AWS shared-credentials file: ${why}; expected "[default]" with aws_access_key_id and aws_secret_access_key lines (and optionally aws_session_token), as Velero's`);
  };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const found = new Map<CredentialKey, string>();
  const profiles: string[] = [];
  let section: string | undefined;
  let defaultSeen = false;
  lines.forEach((rawLine, i) => {
    const n = i + 1;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[\s*([^\]]*?)\s*\]$/.exec(line);
    if (header) {
      section = header[1]!;
      profiles.push(section);
      if (section === 'default') {
        if (defaultSeen) fail(`line ${n} starts a second [default] profile`);
        defaultSeen = true;
      }
      return;
    }
    const eq = line.search(/[=:]/);
    if (eq <= 0) fail(`line ${n} is neither a [profile] header nor a "key = value" line`);
    if (section === undefined) fail(`line ${n} comes before any [profile] header`);
    if (section !== 'default') return;
    const key = line.slice(0, eq).trim().toLowerCase();
    if (!(credentialKeys as readonly string[]).includes(key)) return;
    const value = line.slice(eq + 1).trim();
    if (found.has(key as CredentialKey)) fail(`line ${n} sets ${key} a second time in [default]`);
    if (value === '') fail(`line ${n}: ${key} is empty`);
    if (/[\s\p{Cc}]/u.test(value)) fail(`line ${n}: ${key} contains spaces or control characters`);
    found.set(key as CredentialKey, value);
  });
  if (!defaultSeen) fail(profiles.length === 0 ? 'it has no [default] profile (no profile at all)' : `it has no [default] profile (only ${profiles.map((p) => `[${p}]`).join(', ')})`);
  const missing = credentialKeys.slice(0, 2).filter((k) => !found.has(k));
  if (missing.length > 0) fail(`[default] has no ${missing.join(' and no ')}`);
  const token = found.get('aws_session_token');
  return new Secret<S3Credentials>({
    accessKeyId: found.get('aws_access_key_id')!,
    secretAccessKey: found.get('aws_secret_access_key')!,
    ...(token !== undefined ? { sessionToken: token } : {}),
  });
}

/** The credential Secret's key as S3 credentials. */
export function credentialsFromSecret(secret: SecretData, ref: SecretRef): Secret<S3Credentials> {
  const bytes = secretBytes(secret, ref, 'CredentialSecretMissing');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LocationError('CredentialSecretInvalid', `${describeRef(ref)} is not UTF-8 text; expected an AWS shared-credentials file`);
  }
  return parseAwsCredentials(text, describeRef(ref));
}

export const encryptionKeyBytes = 32;

/**
 * The AES-256 key from its stored form: exactly 32 raw bytes, or the standard base64 of 32 bytes
 * (44 characters ending in one "=", optionally followed by one newline, as `openssl rand -base64 32`
 * prints). The lengths cannot be confused: raw is 32 bytes, base64 is 44 to 46.
 */
export function parseEncryptionKey(bytes: Buffer, where: string): Secret<Buffer> {
  if (bytes.length === encryptionKeyBytes) return new Secret(Buffer.from(bytes));
  const text = bytes.toString('latin1').replace(/\r?\n$/, '');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === encryptionKeyBytes) return new Secret(key);
  }
  throw new LocationError('EncryptionKeyInvalid', `${where} is ${bytes.length} bytes and not base64 of 32 bytes; the encryption key must be exactly 32 random bytes, stored raw (kubectl create secret generic NAME --from-file=KEY=<(head -c 32 /dev/urandom)) or as base64 text (--from-literal=KEY="$(openssl rand -base64 32)")`);
}

/** The encryption key Secret's key as 32 bytes. */
export function encryptionKeyFromSecret(secret: SecretData, ref: SecretRef): Secret<Buffer> {
  return parseEncryptionKey(secretBytes(secret, ref, 'EncryptionKeySecretMissing'), describeRef(ref));
}
