// What `get` prints for each kind: a table (wide adds columns), or the objects as JSON, YAML or
// kind/name lines.
import { stringify } from 'yaml';
import type { Backup, BackupStatus, BackupStorageLocation, CairnKind, NodeAgent, Restore, Schedule, TransferProgress, VolumeStatus } from '../../../common/src/crds.ts';
import type { OutputFormat } from '../args/invocation.ts';
import { age, bytes, duration, percent, until } from './format.ts';
import { table, type Column } from './table.ts';

export interface Obj {
  metadata: { name?: string; namespace?: string; creationTimestamp?: string | Date };
}

const nameCol: Column<Obj> = { header: 'name', cell: (o) => o.metadata.name ?? '' };
const namespaceCol: Column<Obj> = { header: 'namespace', cell: (o) => o.metadata.namespace ?? '' };
const ageCol = (now: number): Column<Obj> => ({ header: 'age', cell: (o) => age(o.metadata.creationTimestamp, now) });

/** The phase, with the queue position while Queued; `New` before the coordinator wrote any. */
export function statusText(s: Pick<BackupStatus, 'phase' | 'queuePosition'> | undefined): string {
  if (!s?.phase) return 'New';
  return s.phase === 'Queued' && s.queuePosition ? `Queued (${s.queuePosition})` : s.phase;
}

/** `2/3`: volumes completed of those considered (Skipped ones are not counted). */
export function volumeCount(volumes: VolumeStatus[] | undefined): string {
  const counted = (volumes ?? []).filter((v) => v.phase !== 'Skipped');
  if (counted.length === 0) return '-';
  return `${counted.filter((v) => v.phase === 'Completed').length}/${counted.length}`;
}

/** Bytes done, and of how much while the run is not final. */
export function sizeText(progress: TransferProgress | undefined, running: boolean): string {
  if (!progress) return '-';
  if (!running) return bytes(progress.bytesDone ?? progress.totalBytes ?? 0);
  const pct = percent(progress.bytesDone, progress.totalBytes);
  return `${bytes(progress.bytesDone ?? 0)}/${bytes(progress.totalBytes ?? 0)}${pct === undefined ? '' : ` (${pct}%)`}`;
}

const running = (phase: string | undefined): boolean => phase === 'InProgress';
const dash = (s: string | undefined): string => (s === undefined || s === '' ? '-' : s);

function backupColumns(now: number, wide: boolean): Column<Backup>[] {
  return [
    nameCol,
    { header: 'status', cell: (b) => statusText(b.status) },
    { header: 'location', cell: (b) => b.spec?.storageLocation ?? '-' },
    { header: 'volumes', cell: (b) => volumeCount(b.status?.volumes) },
    { header: 'size', cell: (b) => sizeText(b.status?.progress, running(b.status?.phase)) },
    ageCol(now),
    { header: 'expires', cell: (b) => until(b.status?.expiration, now) },
    ...(wide
      ? [
          { header: 'files', cell: (b: Backup) => String(b.status?.progress?.filesDone ?? '-') },
          { header: 'error', cell: (b: Backup) => dash(b.status?.errorCode) },
        ]
      : []),
  ];
}

function restoreColumns(now: number, wide: boolean): Column<Restore>[] {
  return [
    nameCol,
    { header: 'status', cell: (r) => statusText(r.status) },
    { header: 'backup', cell: (r) => r.spec?.backupName ?? '-' },
    { header: 'volumes', cell: (r) => volumeCount(r.status?.volumes) },
    { header: 'size', cell: (r) => sizeText(r.status?.progress, running(r.status?.phase)) },
    ageCol(now),
    ...(wide
      ? [
          { header: 'files', cell: (r: Restore) => String(r.status?.progress?.filesDone ?? '-') },
          { header: 'targets', cell: (r: Restore) => dash(r.spec?.targets?.map((t) => `${t.volume}=${t.pvc}`).join(',')) },
          { header: 'error', cell: (r: Restore) => dash(r.status?.errorCode) },
        ]
      : []),
  ];
}

export function retentionText(s: Schedule['spec']): string {
  const r = s.retention;
  if (!r) return s.template?.ttl ? `ttl ${s.template.ttl}` : 'ttl (default)';
  const parts = [['last', r.keepLast], ['hourly', r.keepHourly], ['daily', r.keepDaily], ['weekly', r.keepWeekly], ['monthly', r.keepMonthly]] as const;
  return parts.filter(([, n]) => n).map(([w, n]) => `${w}=${n}`).join(',') || '-';
}

function scheduleColumns(now: number, wide: boolean): Column<Schedule>[] {
  return [
    nameCol,
    { header: 'status', cell: (s) => s.status?.phase ?? (s.spec?.paused ? 'Paused' : 'New') },
    { header: 'schedule', cell: (s) => s.spec?.schedule ?? '-' },
    { header: 'location', cell: (s) => s.spec?.template?.storageLocation ?? '-' },
    { header: 'last backup', cell: (s) => dash(s.status?.lastBackup) },
    { header: 'next', cell: (s) => (s.spec?.paused ? '-' : until(s.status?.nextBackup, now).replace(/^expired (.*)$/, 'due $1')) },
    ageCol(now),
    ...(wide
      ? [
          { header: 'time zone', cell: (s: Schedule) => s.spec?.timeZone ?? 'UTC' },
          { header: 'keep', cell: (s: Schedule) => retentionText(s.spec) },
        ]
      : []),
  ];
}

function locationColumns(now: number, wide: boolean): Column<BackupStorageLocation>[] {
  return [
    nameCol,
    { header: 'phase', cell: (l) => l.status?.phase ?? 'New' },
    { header: 'bucket', cell: (l) => l.spec?.objectStorage?.bucket ?? '-' },
    { header: 'prefix', cell: (l) => dash(l.spec?.objectStorage?.prefix) },
    { header: 'access mode', cell: (l) => l.spec?.accessMode ?? 'ReadWrite' },
    { header: 'last validated', cell: (l) => (l.status?.lastValidationTime ? `${age(l.status.lastValidationTime, now)} ago` : '-') },
    ageCol(now),
    ...(wide
      ? [
          { header: 'endpoint', cell: (l: BackupStorageLocation) => dash(l.spec?.config?.endpoint) },
          { header: 'reason', cell: (l: BackupStorageLocation) => dash(l.status?.reason) },
          { header: 'message', cell: (l: BackupStorageLocation) => dash(l.status?.message) },
        ]
      : []),
  ];
}

function nodeColumns(now: number, wide: boolean): Column<NodeAgent>[] {
  return [
    nameCol,
    { header: 'ready', cell: (n) => (n.status?.ready === undefined ? 'Unknown' : n.status.ready ? 'True' : 'False') },
    { header: 'jobs', cell: (n) => String(n.status?.activeJobs ?? n.status?.jobs?.length ?? 0) },
    { header: 'version', cell: (n) => dash(n.status?.version) },
    { header: 'heartbeat', cell: (n) => (n.status?.lastHeartbeatTime ? `${age(n.status.lastHeartbeatTime, now)} ago` : '-') },
    { header: 'throughput', cell: (n) => (n.status?.bytesPerSecond === undefined ? '-' : `${bytes(n.status.bytesPerSecond)}/s`) },
    { header: 'free', cell: (n) => bytes(n.status?.freeBytes) },
    ageCol(now),
    ...(wide
      ? [
          { header: 'memory', cell: (n: NodeAgent) => bytes(n.status?.memoryBytes) },
          { header: 'uptime', cell: (n: NodeAgent) => (n.status?.uptimeSeconds === undefined ? '-' : duration(n.status.uptimeSeconds * 1000)) },
          { header: 'last error', cell: (n: NodeAgent) => dash(n.status?.lastError) },
        ]
      : []),
  ];
}

type Listed = Backup | Restore | Schedule | BackupStorageLocation | NodeAgent;

function columnsFor(kind: CairnKind, now: number, wide: boolean): Column<Obj>[] {
  switch (kind) {
    case 'Backup':
      return backupColumns(now, wide) as Column<Obj>[];
    case 'Restore':
      return restoreColumns(now, wide) as Column<Obj>[];
    case 'Schedule':
      return scheduleColumns(now, wide) as Column<Obj>[];
    case 'BackupStorageLocation':
      return locationColumns(now, wide) as Column<Obj>[];
    case 'NodeAgent':
      return nodeColumns(now, wide) as Column<Obj>[];
    case 'DeleteBackupRequest':
      return [nameCol, { header: 'backup', cell: (o) => (o as { spec?: { backupName?: string } }).spec?.backupName ?? '-' }, ageCol(now)];
  }
}

const resourceOf: Record<CairnKind, string> = {
  Backup: 'backup.cairn.dev',
  Restore: 'restore.cairn.dev',
  Schedule: 'schedule.cairn.dev',
  BackupStorageLocation: 'backupstoragelocation.cairn.dev',
  DeleteBackupRequest: 'deletebackuprequest.cairn.dev',
  NodeAgent: 'nodeagent.cairn.dev',
};

/** `backup.cairn.dev/nightly`, as kubectl names objects in its messages. */
export function ref(kind: CairnKind, name: string | undefined): string {
  return `${resourceOf[kind]}/${name ?? ''}`;
}

/** Objects of one kind in the requested format; `single` prints one object rather than a List. */
export function renderList(kind: CairnKind, items: readonly Listed[], o: { output: OutputFormat; now: number; allNamespaces: boolean; single?: boolean }): string {
  const plain = (): unknown => {
    // As kubectl (--show-managed-fields=false): managedFields are bookkeeping, not the object.
    const clean = items.map((i) => ({ ...i, metadata: { ...i.metadata, managedFields: undefined } }));
    return JSON.parse(JSON.stringify(o.single ? clean[0] : { apiVersion: 'v1', kind: 'List', items: clean })) as unknown;
  };
  switch (o.output) {
    case 'json':
      return JSON.stringify(plain(), null, 2) + '\n';
    case 'yaml':
      return stringify(plain());
    case 'name':
      return items.map((i) => `${ref(kind, i.metadata.name)}\n`).join('');
    case 'table':
    case 'wide': {
      const cols = columnsFor(kind, o.now, o.output === 'wide');
      return table(o.allNamespaces ? [namespaceCol, ...cols] : cols, items);
    }
  }
}

/** The running jobs of NodeAgents, one row each, for `admin nodes`. */
export function renderNodeJobs(nodes: readonly NodeAgent[]): string {
  const rows = nodes.flatMap((n) => (n.status?.jobs ?? []).map((j) => ({ node: n.metadata.name ?? '', ...j })));
  if (rows.length === 0) return '';
  return table(
    [
      { header: 'node', cell: (r) => r.node },
      { header: 'namespace', cell: (r) => dash(r.namespace) },
      { header: 'kind', cell: (r) => dash(r.kind) },
      { header: 'name', cell: (r) => dash(r.name) },
      { header: 'volume', cell: (r) => dash(r.volume) },
      { header: 'progress', cell: (r) => sizeText({ ...(r.bytesDone === undefined ? {} : { bytesDone: r.bytesDone }), ...(r.totalBytes === undefined ? {} : { totalBytes: r.totalBytes }) }, true) },
    ],
    rows,
  );
}
