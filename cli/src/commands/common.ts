// Pieces several commands share: `get` of any kind, and picking the BackupStorageLocation when
// --location is left out.
import { API_VERSION, type BackupStorageLocation, type CairnKind } from '../../../common/src/crds.ts';
import type { Listing } from '../args/invocation.ts';
import { CliError, usage } from '../exit.ts';
import { apiError } from '../kube/api-errors.ts';
import { renderList, type Obj } from '../render/lists.ts';
import type { Ctx } from './context.ts';

/** `backups`, `backup storage locations`: how messages name a kind. */
export const words: Record<CairnKind, { one: string; many: string }> = {
  Backup: { one: 'backup', many: 'backups' },
  Restore: { one: 'restore', many: 'restores' },
  Schedule: { one: 'schedule', many: 'schedules' },
  BackupStorageLocation: { one: 'backup storage location', many: 'backup storage locations' },
  DeleteBackupRequest: { one: 'delete backup request', many: 'delete backup requests' },
  NodeAgent: { one: 'NodeAgent', many: 'NodeAgents' },
};

export function notFound(ctx: Ctx, kind: CairnKind, name: string): string {
  return `${words[kind].one} ${JSON.stringify(name)} not found in namespace ${ctx.namespace}`;
}

/** Reads one object of the namespace; a 404 is NotFound naming it. */
export async function getOne<T>(ctx: Ctx, kind: CairnKind, name: string): Promise<T> {
  try {
    return await ctx.api.get<T>(kind, ctx.namespace, name);
  } catch (err) {
    throw apiError(err, { action: `get ${kind} ${ctx.namespace}/${name}`, notFound: notFound(ctx, kind, name), server: ctx.api.server });
  }
}

/** A cluster-wide list (of all namespaces, or of the cluster for NodeAgents), with what to say when it is refused. */
export async function listAll<T>(ctx: Ctx, kind: CairnKind, o: { forbiddenHint: string; notInstalled?: string }): Promise<T[]> {
  try {
    return await ctx.api.list<T>(kind, undefined);
  } catch (err) {
    const action = kind === 'NodeAgent' ? 'list NodeAgents' : `list ${kind}s of all namespaces`;
    throw apiError(err, { action, server: ctx.api.server, ...o });
  }
}

/** `get` of a namespaced kind: one by name, the namespace's, or all namespaces' with -A. */
export async function get(ctx: Ctx, kind: CairnKind, l: Listing): Promise<number> {
  let items: Obj[];
  if (l.name !== undefined && !l.allNamespaces) {
    items = [await getOne<Obj>(ctx, kind, l.name)];
  } else if (l.allNamespaces) {
    items = await listAll<Obj>(ctx, kind, { forbiddenHint: `listing ${words[kind].many} of every namespace needs a cluster-wide role; without -A you see those of namespace ${ctx.namespace}` });
    if (l.name !== undefined) items = items.filter((i) => i.metadata.name === l.name);
  } else {
    try {
      items = await ctx.api.list<Obj>(kind, ctx.namespace);
    } catch (err) {
      throw apiError(err, { action: `list ${kind}s in namespace ${ctx.namespace}`, server: ctx.api.server });
    }
  }
  items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  if (items.length === 0 && (l.output === 'table' || l.output === 'wide' || l.output === 'name')) {
    ctx.io.err(`No ${words[kind].many} found${l.allNamespaces ? '' : ` in namespace ${ctx.namespace}`}.\n`);
    return 0;
  }
  ctx.io.out(renderList(kind, items as never[], { output: l.output, now: ctx.now(), allNamespaces: l.allNamespaces, single: l.name !== undefined && !l.allNamespaces }));
  return 0;
}

/** The location to use: the one named (which must exist), else the namespace's only one. */
export async function pickLocation(ctx: Ctx, named: string | undefined): Promise<string> {
  if (named !== undefined) {
    await getOne<BackupStorageLocation>(ctx, 'BackupStorageLocation', named);
    return named;
  }
  let all: BackupStorageLocation[];
  try {
    all = await ctx.api.list<BackupStorageLocation>('BackupStorageLocation', ctx.namespace);
  } catch (err) {
    throw apiError(err, { action: `list the backup storage locations of namespace ${ctx.namespace} (to pick one; or pass --location)`, server: ctx.api.server });
  }
  const names = all.map((l) => l.metadata.name!).sort();
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw new CliError('NotFound', `namespace ${ctx.namespace} has no backup storage location: an admin of the namespace creates one with kubectl cairn location create`);
  throw usage(`namespace ${ctx.namespace} has ${names.length} backup storage locations (${names.join(', ')}): name one with --location`);
}

/** The object to create, with apiVersion, kind and metadata filled in. */
export function newObject(kind: CairnKind, metadata: { name?: string; generateName?: string; namespace: string }, spec: object): object {
  return { apiVersion: API_VERSION, kind, metadata, spec };
}
