// schedule create | get | pause | unpause.
import type { Schedule, ScheduleSpec } from '../../../common/src/crds.ts';
import type { Command } from '../args/invocation.ts';
import { CliError } from '../exit.ts';
import { apiError, kubeFailure } from '../kube/api-errors.ts';
import { ref } from '../render/lists.ts';
import { backupSpec } from './backup.ts';
import type { Ctx } from './context.ts';
import { get, getOne, newObject, pickLocation } from './common.ts';

type Of<C extends Command['command']> = Extract<Command, { command: C }>;

export async function scheduleCreate(ctx: Ctx, c: Of<'schedule create'>): Promise<number> {
  const location = await pickLocation(ctx, c.location);
  const spec: ScheduleSpec = { schedule: c.schedule, template: backupSpec(location, c) };
  if (c.timeZone) spec.timeZone = c.timeZone;
  if (c.paused) spec.paused = true;
  if (c.missedRunPolicy) spec.missedRunPolicy = c.missedRunPolicy;
  if (c.retention) spec.retention = c.retention;
  try {
    await ctx.api.create<Schedule>('Schedule', ctx.namespace, newObject('Schedule', { name: c.name, namespace: ctx.namespace }, spec));
  } catch (err) {
    throw apiError(err, { action: `create Schedule ${ctx.namespace}/${c.name}`, server: ctx.api.server });
  }
  ctx.io.out(`${ref('Schedule', c.name)} created${c.paused ? ' (paused)' : ''}\n`);
  return 0;
}

export function scheduleGet(ctx: Ctx, c: Of<'schedule get'>): Promise<number> {
  return get(ctx, 'Schedule', c);
}

/** Sets spec.paused with a read and a full update, again when someone else changed it meanwhile. */
export async function schedulePause(ctx: Ctx, name: string, paused: boolean): Promise<number> {
  const verb = paused ? 'paused' : 'unpaused';
  for (let attempt = 1; ; attempt++) {
    const s = await getOne<Schedule>(ctx, 'Schedule', name);
    if ((s.spec.paused ?? false) === paused) {
      ctx.io.out(`${ref('Schedule', name)} already ${verb}\n`);
      return 0;
    }
    try {
      await ctx.api.replace<Schedule>('Schedule', ctx.namespace, name, { ...s, spec: { ...s.spec, paused } });
      ctx.io.out(`${ref('Schedule', name)} ${verb}\n`);
      return 0;
    } catch (err) {
      if (kubeFailure(err).status === 409 && attempt < 5) continue;
      if (err instanceof CliError) throw err;
      throw apiError(err, { action: `update Schedule ${ctx.namespace}/${name}`, server: ctx.api.server });
    }
  }
}
