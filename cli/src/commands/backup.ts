// backup create | get | describe | delete.
import type { Backup, BackupSpec, DeleteBackupRequest } from '../../../common/src/crds.ts';
import type { BackupSelection, Command } from '../args/invocation.ts';
import { apiError } from '../kube/api-errors.ts';
import { describeBackup } from '../render/describe.ts';
import { ref } from '../render/lists.ts';
import type { Ctx } from './context.ts';
import { follow } from './follow.ts';
import { get, getOne, newObject, pickLocation } from './common.ts';

type Of<C extends Command['command']> = Extract<Command, { command: C }>;

/** The Backup spec of a selection (also a Schedule's template). */
export function backupSpec(location: string, s: BackupSelection): BackupSpec {
  const spec: BackupSpec = { storageLocation: location };
  if (s.includeVolumes) spec.includeVolumes = s.includeVolumes;
  if (s.excludeVolumes) spec.excludeVolumes = s.excludeVolumes;
  if (s.selector) spec.podSelector = s.selector;
  if (s.ttl) spec.ttl = s.ttl;
  return spec;
}

export async function backupCreate(ctx: Ctx, c: Of<'backup create'>): Promise<number> {
  const location = await pickLocation(ctx, c.location);
  const body = newObject('Backup', { name: c.name, namespace: ctx.namespace }, backupSpec(location, c));
  try {
    await ctx.api.create<Backup>('Backup', ctx.namespace, body);
  } catch (err) {
    throw apiError(err, { action: `create Backup ${ctx.namespace}/${c.name}`, server: ctx.api.server });
  }
  ctx.io.out(`${ref('Backup', c.name)} created\n`);
  if (c.wait) await follow(ctx, 'Backup', c.name, c.timeoutMs);
  return 0;
}

export function backupGet(ctx: Ctx, c: Of<'backup get'>): Promise<number> {
  return get(ctx, 'Backup', c);
}

export async function backupDescribe(ctx: Ctx, c: Of<'backup describe'>): Promise<number> {
  const b = await getOne<Backup>(ctx, 'Backup', c.name);
  const events = await ctx.api.events(ctx.namespace, 'Backup', c.name);
  ctx.io.out(describeBackup(b, events, ctx.now()));
  return 0;
}

/** Deleting a Backup is a DeleteBackupRequest: the coordinator deletes its data, then the object. */
export async function backupDelete(ctx: Ctx, c: Of<'backup delete'>): Promise<number> {
  const b = await getOne<Backup>(ctx, 'Backup', c.name);
  if (b.status?.phase === 'InProgress' || b.status?.phase === 'Queued') {
    ctx.io.err(`warning: backup ${ctx.namespace}/${c.name} is ${b.status.phase}: the request will be refused while it runs; to cancel it, delete the Backup object (kubectl delete backups.cairn.dev ${c.name})\n`);
  }
  const body = newObject('DeleteBackupRequest', { generateName: `${c.name.slice(0, 240).replace(/[.-]+$/, '')}-`, namespace: ctx.namespace }, { backupName: c.name });
  let created: DeleteBackupRequest;
  try {
    created = await ctx.api.create<DeleteBackupRequest>('DeleteBackupRequest', ctx.namespace, body);
  } catch (err) {
    throw apiError(err, { action: `create a DeleteBackupRequest for Backup ${ctx.namespace}/${c.name}`, server: ctx.api.server });
  }
  const name = created.metadata.name!;
  ctx.io.out(`${ref('DeleteBackupRequest', name)} created: backup ${c.name} and its data in the bucket will be deleted\n`);
  if (c.wait) await follow(ctx, 'DeleteBackupRequest', name, c.timeoutMs);
  return 0;
}
