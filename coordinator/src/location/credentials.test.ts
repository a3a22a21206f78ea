import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { credentialsFromSecret, encryptionKeyFromSecret, parseAwsCredentials, parseEncryptionKey, type SecretRef } from './credentials.ts';
import { isLocationError, type LocationReason } from './reasons.ts';

const where = 'key "cloud" of Secret team-a/creds';
const canaryKey = 'AKIACANARY0000000001';
const canarySecret = 'canary/Secret+Value0123456789abcdefghijk';
const canaryToken = 'FwoGZXIvYXdzECANARYTOKEN';

function b64(s: string | Buffer): string {
  return Buffer.from(s).toString('base64');
}

function failure(fn: () => unknown, reason: LocationReason): string {
  try {
    fn();
  } catch (err) {
    expect(isLocationError(err, reason), `expected ${reason}, got ${String(err)}`).toBe(true);
    const msg = (err as Error).message;
    for (const c of [canaryKey, canarySecret, canaryToken]) expect(msg).not.toContain(c);
    return msg;
  }
  throw new Error(`expected ${reason}, but it succeeded`);
}

describe('parseAwsCredentials', () => {
  it('reads the [default] profile as Velero writes it', () => {
    const c = parseAwsCredentials(`[default]\naws_access_key_id=${canaryKey}\naws_secret_access_key=${canarySecret}\n`, where);
    expect(c.reveal()).toEqual({ accessKeyId: canaryKey, secretAccessKey: canarySecret });
  });

  it('accepts spaces, CRLF, a BOM, comments, upper-case keys, ":" and other profiles and keys', () => {
    const text = [
      '\uFEFF# written by hand', '[other]', 'aws_access_key_id = OTHERKEY', 'aws_secret_access_key = other', '',
      '[ default ]', '; comment', `AWS_ACCESS_KEY_ID = ${canaryKey}`, `aws_secret_access_key: ${canarySecret}`,
      `aws_session_token=${canaryToken}`, 'region = eu-central-1', '[third]', 'x=y',
    ].join('\r\n');
    expect(parseAwsCredentials(text, where).reveal()).toEqual({ accessKeyId: canaryKey, secretAccessKey: canarySecret, sessionToken: canaryToken });
  });

  it('keeps "=" and ":" inside a value', () => {
    const c = parseAwsCredentials(`[default]\naws_access_key_id = ${canaryKey}\naws_secret_access_key = a=b:c==\n`, where);
    expect(c.reveal().secretAccessKey).toBe('a=b:c==');
  });

  it('never shows the values when printed', () => {
    const c = parseAwsCredentials(`[default]\naws_access_key_id=${canaryKey}\naws_secret_access_key=${canarySecret}\n`, where);
    for (const shown of [inspect(c), JSON.stringify({ c }), String(c)]) {
      expect(shown).not.toContain(canaryKey);
      expect(shown).not.toContain(canarySecret);
    }
  });

  it.each([
    ['', 'no [default] profile (no profile at all)'],
    [`[prod]\naws_access_key_id=${canaryKey}\naws_secret_access_key=${canarySecret}`, 'no [default] profile (only [prod])'],
    [`aws_access_key_id=${canaryKey}\naws_secret_access_key=${canarySecret}`, 'line 1 comes before any [profile] header'],
    [`[default]\naws_access_key_id=${canaryKey}`, '[default] has no aws_secret_access_key'],
    [`[default]\naws_secret_access_key=${canarySecret}`, '[default] has no aws_access_key_id'],
    ['[default]\nregion=x', 'has no aws_access_key_id and no aws_secret_access_key'],
    [`[default]\naws_access_key_id=${canaryKey}\naws_access_key_id=${canaryKey}2\naws_secret_access_key=${canarySecret}`, 'line 3 sets aws_access_key_id a second time'],
    [`[default]\naws_access_key_id=${canaryKey}\n[default]\naws_secret_access_key=${canarySecret}`, 'line 3 starts a second [default] profile'],
    [`[default]\naws_access_key_id=\naws_secret_access_key=${canarySecret}`, 'line 2: aws_access_key_id is empty'],
    [`[default]\naws_access_key_id=${canaryKey}\naws_secret_access_key=${canarySecret} trailing`, 'line 3: aws_secret_access_key contains spaces'],
    [`[default]\n${canarySecret}`, 'line 2 is neither a [profile] header'],
    [`{"accessKey":"${canaryKey}","secretKey":"${canarySecret}"}`, 'line 1 comes before any [profile] header'],
  ])('refuses %j without echoing a value', (text, why) => {
    const msg = failure(() => parseAwsCredentials(text, where), 'CredentialSecretInvalid');
    expect(msg).toContain(where);
    expect(msg).toContain(why);
  });
});

describe('credentialsFromSecret', () => {
  const ref: SecretRef = { namespace: 'team-a', name: 'creds', key: 'cloud' };

  it('decodes the Secret data', () => {
    const secret = { data: { cloud: b64(`[default]\naws_access_key_id=${canaryKey}\naws_secret_access_key=${canarySecret}\n`) } };
    expect(credentialsFromSecret(secret, ref).reveal().accessKeyId).toBe(canaryKey);
  });

  it('a missing key names the Secret, the key and the keys it has', () => {
    const msg = failure(() => credentialsFromSecret({ data: { other: b64(canarySecret), more: b64('x') } }, ref), 'CredentialSecretMissing');
    expect(msg).toBe('Secret team-a/creds has no key "cloud" (it has "more", "other")');
    expect(failure(() => credentialsFromSecret({}, ref), 'CredentialSecretMissing')).toContain('it has no data');
  });

  it('bytes that are not UTF-8 are refused', () => {
    const msg = failure(() => credentialsFromSecret({ data: { cloud: b64(Buffer.from([0xff, 0xfe, 0x00, 0x41])) } }, ref), 'CredentialSecretInvalid');
    expect(msg).toContain('key "cloud" of Secret team-a/creds is not UTF-8 text');
  });
});

describe('encryption key', () => {
  const ref: SecretRef = { namespace: 'team-a', name: 'enc', key: 'key' };
  const key = randomBytes(32);

  it('takes exactly 32 raw bytes', () => {
    expect(encryptionKeyFromSecret({ data: { key: b64(key) } }, ref).reveal()).toEqual(key);
  });

  it('takes base64 of 32 bytes, with or without one trailing newline', () => {
    for (const text of [key.toString('base64'), `${key.toString('base64')}\n`, `${key.toString('base64')}\r\n`]) {
      expect(parseEncryptionKey(Buffer.from(text), 'x').reveal()).toEqual(key);
    }
  });

  it.each([
    ['31 raw bytes', randomBytes(31)],
    ['33 raw bytes (32 and a newline)', Buffer.concat([randomBytes(32), Buffer.from('\n')])],
    ['64 bytes', randomBytes(64)],
    ['base64 of 31 bytes', Buffer.from(randomBytes(31).toString('base64'))],
    ['base64 of 33 bytes', Buffer.from(randomBytes(33).toString('base64'))],
    ['base64url of 32 bytes', Buffer.from(Buffer.from('\xff'.repeat(32), 'latin1').toString('base64url') + '=')],
    ['hex of 32 bytes', Buffer.from(randomBytes(32).toString('hex'))],
    ['base64 with two newlines', Buffer.from(`${randomBytes(32).toString('base64')}\n\n`)],
    ['empty', Buffer.alloc(0)],
  ])('refuses %s, naming the Secret and the size but not the value', (_what, bytes) => {
    const msg = failure(() => encryptionKeyFromSecret({ data: { key: b64(bytes) } }, ref), 'EncryptionKeyInvalid');
    expect(msg).toContain(`key "key" of Secret team-a/enc is ${bytes.length} bytes`);
    if (bytes.length > 0) {
      expect(msg).not.toContain(bytes.toString('base64'));
      expect(msg).not.toContain(bytes.toString('latin1').trim());
    }
  });

  it('a missing key is EncryptionKeySecretMissing', () => {
    failure(() => encryptionKeyFromSecret({ data: {} }, ref), 'EncryptionKeySecretMissing');
  });
});
