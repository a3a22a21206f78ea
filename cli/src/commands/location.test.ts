import { describe, expect, it } from 'vitest';
import type { BackupStorageLocation } from '../../../common/src/crds.ts';
import { Secret } from '../../../common/src/secret.ts';
import type { Command } from '../args/invocation.ts';
import { apiException, FakeApi, fakeCtx } from './fake-ctx.ts';
import { locationCreate } from './location.ts';

type Create = Extract<Command, { command: 'location create' }>;
const canary = 'wJalrXUtnFEMI-K7MDENG-canary';

function create(o: Partial<Create> = {}): Create {
  return {
    command: 'location create', name: 'main', bucket: 'team-a', prefix: 'cluster-1', region: 'us-east-1', endpoint: 'https://s3.example.com', forcePathStyle: true,
    credential: { from: 'keys', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: new Secret(canary) }, credentialSecret: 'main-credentials', credentialKey: 'cloud', wait: false, ...o,
  };
}

describe('location create', () => {
  it('creates the Secret (a shared-credentials file) then the location, and prints neither key', async () => {
    const ctx = fakeCtx();
    expect(await locationCreate(ctx, create())).toBe(0);
    expect(ctx.api.secrets.get('team-a/main-credentials')).toEqual({ cloud: `[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = ${canary}\n` });
    const bsl = ctx.api.objects.get('BackupStorageLocation/team-a/main') as unknown as BackupStorageLocation;
    expect(bsl.spec).toEqual({ objectStorage: { bucket: 'team-a', prefix: 'cluster-1' }, config: { region: 'us-east-1', endpoint: 'https://s3.example.com', forcePathStyle: true }, credential: { name: 'main-credentials', key: 'cloud' } });
    expect(ctx.stdout()).toBe('secret/main-credentials created\nbackupstoragelocation.cairn.dev/main created\n');
    expect(ctx.stdout() + ctx.stderr()).not.toContain(canary);
    expect(ctx.api.calls).toEqual(['create Secret', 'create BackupStorageLocation']);
  });

  it('reads the secret key from standard input for "-"', async () => {
    const ctx = fakeCtx({ stdin: `${canary}\n` });
    await locationCreate(ctx, create({ credential: { from: 'keys', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'stdin' } }));
    expect(ctx.api.secrets.get('team-a/main-credentials')!.cloud).toContain(`aws_secret_access_key = ${canary}\n`);
  });

  it('a credentials file is checked with the coordinator\'s parser: a bad one is a usage error naming the line, not the value, and nothing is created', async () => {
    const ctx = fakeCtx({ files: { '/creds': `[default]\naws_access_key_id = A\naws_secret_access_key = ${canary} with spaces\n` } });
    const err = await locationCreate(ctx, create({ credential: { from: 'file', path: '/creds' } })).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Usage', exitCode: 2 });
    expect((err as Error).message).toMatch(/--credentials-file \/creds is not a usable AWS shared-credentials file: line 3: aws_secret_access_key contains spaces/);
    expect((err as Error).message).not.toContain(canary);
    expect(ctx.api.calls).toEqual([]);
  });

  it('a good credentials file goes into the Secret as it is', async () => {
    const file = `# team-a\n[default]\naws_access_key_id = A\naws_secret_access_key = ${canary}\n`;
    const ctx = fakeCtx({ files: { '/creds': file } });
    await locationCreate(ctx, create({ credential: { from: 'file', path: '/creds' } }));
    expect(ctx.api.secrets.get('team-a/main-credentials')).toEqual({ cloud: file });
  });

  it('without credentials the named Secret must exist; it is used as it is', async () => {
    const missing = fakeCtx();
    expect(await locationCreate(missing, create({ credential: { from: 'existing' } })).catch((e: unknown) => e)).toMatchObject({ reason: 'NotFound', exitCode: 4 });
    const api = new FakeApi();
    api.secrets.set('team-a/main-credentials', { cloud: 'x' });
    const ctx = fakeCtx({ api });
    expect(await locationCreate(ctx, create({ credential: { from: 'existing' } }))).toBe(0);
    expect(ctx.stdout()).toBe('backupstoragelocation.cairn.dev/main created\n');
  });

  it('an existing Secret of that name is not overwritten (exit 5)', async () => {
    const api = new FakeApi();
    api.secrets.set('team-a/main-credentials', { cloud: 'theirs' });
    const ctx = fakeCtx({ api });
    const err = await locationCreate(ctx, create()).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'AlreadyExists', exitCode: 5 });
    expect(api.secrets.get('team-a/main-credentials')).toEqual({ cloud: 'theirs' });
    expect(api.calls).not.toContain('create BackupStorageLocation');
  });

  it('when the location is refused (admission, RBAC), the Secret created for it is deleted again', async () => {
    const api = new FakeApi().fail('create BackupStorageLocation', apiException(403, 'Forbidden', 'backupstoragelocations.cairn.dev "main" is forbidden: User "dev" cannot create resource "backupstoragelocations"'));
    const ctx = fakeCtx({ api });
    const err = await locationCreate(ctx, create()).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Forbidden', exitCode: 3, details: ['the Secret main-credentials created for it was deleted again'] });
    expect(api.secrets.has('team-a/main-credentials')).toBe(false);
  });

  it('--wait follows the validation: Unavailable is exit 1 with the reason', async () => {
    const api = new FakeApi();
    api.onGet = (_k, obj) => void ((obj as { status?: unknown }).status = { phase: 'Unavailable', reason: 'CAIRN_E_STORE_ACCESS_DENIED', message: 'HeadBucket team-a: HTTP 403 AccessDenied' });
    const ctx = fakeCtx({ api });
    const err = await locationCreate(ctx, create({ wait: true })).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Unavailable', exitCode: 1, message: 'location team-a/main is Unavailable (CAIRN_E_STORE_ACCESS_DENIED): HeadBucket team-a: HTTP 403 AccessDenied' });
    expect(ctx.stdout().trimEnd().split('\n').at(-1)).toBe('backupstoragelocation.cairn.dev/main Unavailable');
  });

  it('a CA file must hold a PEM certificate', async () => {
    const ctx = fakeCtx({ files: { '/ca.pem': 'not a cert' } });
    expect(await locationCreate(ctx, create({ caCertFile: '/ca.pem' })).catch((e: unknown) => e)).toMatchObject({ reason: 'Usage', message: '--ca-cert-file /ca.pem: no PEM certificate in it (-----BEGIN CERTIFICATE-----)' });
  });
});
