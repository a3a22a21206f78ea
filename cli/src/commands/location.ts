// location create | get. `create` also creates the credential Secret (an AWS shared-credentials
// file under --credential-key, as Velero's and as the coordinator reads it), from the key flags or
// a credentials file. The credentials are checked with the coordinator's own parser first, and
// never printed: not on success, not in errors (the parser names lines, never values).
import type { BackupStorageLocation, BackupStorageLocationSpec } from '../../../common/src/crds.ts';
import { parseAwsCredentials } from '../../../coordinator/src/location/credentials.ts';
import type { Command, CredentialSource } from '../args/invocation.ts';
import { CliError, usage } from '../exit.ts';
import { apiError } from '../kube/api-errors.ts';
import { ref } from '../render/lists.ts';
import type { Ctx } from './context.ts';
import { follow } from './follow.ts';
import { get, newObject } from './common.ts';

type Of<C extends Command['command']> = Extract<Command, { command: C }>;

/** The shared-credentials file for the key flags. */
export function credentialsFile(accessKeyId: string, secretAccessKey: string, sessionToken?: string): string {
  return `[default]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n${sessionToken === undefined ? '' : `aws_session_token = ${sessionToken}\n`}`;
}

/** The Secret's content for the credential source, checked; undefined for an existing Secret. */
export async function credentialsText(ctx: Ctx, source: CredentialSource): Promise<string | undefined> {
  let text: string;
  let where: string;
  switch (source.from) {
    case 'existing':
      return undefined;
    case 'file':
      where = `--credentials-file ${source.path}`;
      try {
        text = await ctx.io.readFile(source.path);
      } catch (err) {
        throw usage(`${where}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      break;
    case 'keys': {
      where = 'the credentials given with --access-key-id and --secret-access-key';
      const secret = source.secretAccessKey === 'stdin' ? (await ctx.io.readStdin()).trim() : source.secretAccessKey.reveal();
      if (secret === '') throw usage('--secret-access-key -: standard input was empty');
      text = credentialsFile(source.accessKeyId, secret, source.sessionToken?.reveal());
      break;
    }
  }
  try {
    parseAwsCredentials(text, where);
  } catch (err) {
    throw usage((err as Error).message);
  }
  return text;
}

async function spec(ctx: Ctx, c: Of<'location create'>): Promise<BackupStorageLocationSpec> {
  const s: BackupStorageLocationSpec = {
    objectStorage: { bucket: c.bucket, ...(c.prefix === undefined ? {} : { prefix: c.prefix }) },
    credential: { name: c.credentialSecret, key: c.credentialKey },
  };
  const config: NonNullable<BackupStorageLocationSpec['config']> = {};
  if (c.region !== undefined) config.region = c.region;
  if (c.endpoint !== undefined) config.endpoint = c.endpoint;
  if (c.forcePathStyle) config.forcePathStyle = true;
  if (c.caCertFile !== undefined) {
    let pem: string;
    try {
      pem = await ctx.io.readFile(c.caCertFile);
    } catch (err) {
      throw usage(`--ca-cert-file ${c.caCertFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw usage(`--ca-cert-file ${c.caCertFile}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
    config.caCert = pem;
  }
  if (Object.keys(config).length > 0) s.config = config;
  if (c.accessMode !== undefined) s.accessMode = c.accessMode;
  if (c.syncPeriod !== undefined) s.syncPeriod = c.syncPeriod;
  if (c.encryptionSecret) s.encryption = { keySecret: c.encryptionSecret };
  return s;
}

export async function locationCreate(ctx: Ctx, c: Of<'location create'>): Promise<number> {
  const ns = ctx.namespace;
  const text = await credentialsText(ctx, c.credential);
  const body = newObject('BackupStorageLocation', { name: c.name, namespace: ns }, await spec(ctx, c));
  const server = ctx.api.server;
  if (text === undefined) {
    let exists: boolean;
    try {
      exists = await ctx.api.secretExists(ns, c.credentialSecret);
    } catch (err) {
      throw apiError(err, { action: `read Secret ${ns}/${c.credentialSecret}`, server, forbiddenHint: 'a location may only name a Secret its author can read' });
    }
    if (!exists) {
      throw new CliError('NotFound', `Secret ${JSON.stringify(c.credentialSecret)} not found in namespace ${ns}: give the credentials with --access-key-id and --secret-access-key, or --credentials-file, and it is created`);
    }
  } else {
    try {
      await ctx.api.createSecret(ns, c.credentialSecret, { [c.credentialKey]: text }, { 'app.kubernetes.io/managed-by': 'kubectl-cairn', 'cairn.dev/location': c.name });
    } catch (err) {
      const e = apiError(err, { action: `create Secret ${ns}/${c.credentialSecret}`, server });
      if (e.reason === 'AlreadyExists') {
        throw new CliError('AlreadyExists', `Secret ${JSON.stringify(c.credentialSecret)} already exists in namespace ${ns}: leave out the credentials flags to use it as it is, or name another with --credential-secret`);
      }
      throw e;
    }
    ctx.io.out(`secret/${c.credentialSecret} created\n`);
  }
  try {
    await ctx.api.create<BackupStorageLocation>('BackupStorageLocation', ns, body);
  } catch (err) {
    const e = apiError(err, { action: `create BackupStorageLocation ${ns}/${c.name}`, server });
    if (text !== undefined) {
      try {
        await ctx.api.deleteSecret(ns, c.credentialSecret);
        e.details.push(`the Secret ${c.credentialSecret} created for it was deleted again`);
      } catch {
        e.details.push(`the Secret ${c.credentialSecret} created for it could not be deleted again: delete it with kubectl -n ${ns} delete secret ${c.credentialSecret}`);
      }
    }
    throw e;
  }
  ctx.io.out(`${ref('BackupStorageLocation', c.name)} created\n`);
  if (c.wait) await follow(ctx, 'BackupStorageLocation', c.name, c.timeoutMs);
  return 0;
}

export function locationGet(ctx: Ctx, c: Of<'location get'>): Promise<number> {
  return get(ctx, 'BackupStorageLocation', c);
}
