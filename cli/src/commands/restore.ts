// restore create | get | describe.
import type { Backup, Restore, RestoreSpec } from '../../../common/src/crds.ts';
import type { Command } from '../args/invocation.ts';
import { apiError } from '../kube/api-errors.ts';
import { describeRestore } from '../render/describe.ts';
import { ref } from '../render/lists.ts';
import type { Ctx } from './context.ts';
import { follow } from './follow.ts';
import { get, getOne, newObject } from './common.ts';

type Of<C extends Command['command']> = Extract<Command, { command: C }>;

/** `<backup>-<yyyymmddhhmmss>` (UTC), within the 253 characters of a name. */
export function defaultRestoreName(backup: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${backup.slice(0, 253 - 15).replace(/[.-]+$/, '')}-${stamp}`;
}

export async function restoreCreate(ctx: Ctx, c: Of<'restore create'>): Promise<number> {
  await getOne<Backup>(ctx, 'Backup', c.backup);
  const name = c.name ?? defaultRestoreName(c.backup, ctx.now());
  const spec: RestoreSpec = { backupName: c.backup };
  if (c.includeVolumes) spec.includeVolumes = c.includeVolumes;
  if (c.targets) spec.targets = c.targets;
  if (c.paths) spec.paths = c.paths;
  try {
    await ctx.api.create<Restore>('Restore', ctx.namespace, newObject('Restore', { name, namespace: ctx.namespace }, spec));
  } catch (err) {
    throw apiError(err, { action: `create Restore ${ctx.namespace}/${name}`, server: ctx.api.server });
  }
  ctx.io.out(`${ref('Restore', name)} created\n`);
  if (c.wait) await follow(ctx, 'Restore', name, c.timeoutMs);
  return 0;
}

export function restoreGet(ctx: Ctx, c: Of<'restore get'>): Promise<number> {
  return get(ctx, 'Restore', c);
}

export async function restoreDescribe(ctx: Ctx, c: Of<'restore describe'>): Promise<number> {
  const r = await getOne<Restore>(ctx, 'Restore', c.name);
  const events = await ctx.api.events(ctx.namespace, 'Restore', c.name);
  ctx.io.out(describeRestore(r, events, ctx.now()));
  return 0;
}
