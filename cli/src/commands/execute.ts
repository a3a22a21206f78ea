// Runs an Invocation: one function per command. Returns the exit code; failures are CliErrors.
import type { Command } from '../args/invocation.ts';
import { adminBackups, adminNodes } from './admin.ts';
import { backupCreate, backupDelete, backupDescribe, backupGet } from './backup.ts';
import type { Ctx } from './context.ts';
import { locationCreate, locationGet } from './location.ts';
import { restoreCreate, restoreDescribe, restoreGet } from './restore.ts';
import { scheduleCreate, scheduleGet, schedulePause } from './schedule.ts';

export function execute(ctx: Ctx, c: Command): Promise<number> {
  switch (c.command) {
    case 'backup create':
      return backupCreate(ctx, c);
    case 'backup get':
      return backupGet(ctx, c);
    case 'backup describe':
      return backupDescribe(ctx, c);
    case 'backup delete':
      return backupDelete(ctx, c);
    case 'restore create':
      return restoreCreate(ctx, c);
    case 'restore get':
      return restoreGet(ctx, c);
    case 'restore describe':
      return restoreDescribe(ctx, c);
    case 'schedule create':
      return scheduleCreate(ctx, c);
    case 'schedule get':
      return scheduleGet(ctx, c);
    case 'schedule pause':
      return schedulePause(ctx, c.name, true);
    case 'schedule unpause':
      return schedulePause(ctx, c.name, false);
    case 'location create':
      return locationCreate(ctx, c);
    case 'location get':
      return locationGet(ctx, c);
    case 'admin nodes':
      return adminNodes(ctx, c);
    case 'admin backups':
      return adminBackups(ctx, c);
  }
}
