// `describe` of a Backup or Restore: what was asked, where it is, its progress, and a row per
// volume with its phase, bytes and files, then every volume's error and the object's Events.
import type { Backup, LabelSelector, Restore, VolumeStatus } from '../../../common/src/crds.ts';
import { LABEL_SYNCED } from '../../../common/src/crds.ts';
import type { EventLine } from '../kube/api.ts';
import { age, bytes, duration, percent, timeWithAge, until } from './format.ts';
import { statusText } from './lists.ts';
import { table } from './table.ts';

/** `app=db,tier in (a,b),!legacy`, as kubectl writes selectors. */
export function selectorText(s: LabelSelector | undefined): string {
  if (!s) return '';
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}

function fields(rows: [string, string | undefined][]): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== '');
  const width = Math.max(...shown.map(([k]) => k.length)) + 3;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n') + '\n';
}

function progressText(p: { bytesDone?: number; totalBytes?: number; filesDone?: number; totalFiles?: number } | undefined): string | undefined {
  if (!p) return undefined;
  const pct = percent(p.bytesDone, p.totalBytes);
  const files = p.totalFiles !== undefined ? `${p.filesDone ?? 0} of ${p.totalFiles} files` : `${p.filesDone ?? 0} files`;
  return `${bytes(p.bytesDone ?? 0)} of ${bytes(p.totalBytes ?? 0)}${pct === undefined ? '' : ` (${pct}%)`}, ${files}`;
}

function tookText(start: string | undefined, end: string | undefined, now: number): string | undefined {
  if (!end) return undefined;
  const took = start ? `, took ${duration(Date.parse(end) - Date.parse(start))}` : '';
  return `${end} (${age(end, now)} ago${took})`;
}

function volumesSection(volumes: VolumeStatus[] | undefined, pvcHeader: string): string {
  if (!volumes || volumes.length === 0) return '\nVolumes: none yet\n';
  const t = table(
    [
      { header: pvcHeader, cell: (v: VolumeStatus) => v.pvc ?? '-' },
      { header: 'pod', cell: (v) => v.pod ?? '-' },
      { header: 'node', cell: (v) => v.node ?? '-' },
      { header: 'phase', cell: (v) => v.phase ?? 'Pending' },
      { header: 'bytes', cell: (v) => bytes(v.bytes ?? 0) },
      { header: 'files', cell: (v) => String(v.files ?? 0) },
      { header: 'error', cell: (v) => v.errorCode ?? (v.phase === 'Failed' ? 'yes' : '-') },
    ],
    volumes,
  );
  const problems = volumes.filter((v) => v.message && (v.phase === 'Failed' || v.phase === 'Skipped' || v.errorCode));
  const notes = problems.map((v) => `  ${v.pvc ?? '?'} (${v.phase ?? 'Pending'}): ${v.errorCode ? `${v.errorCode}: ` : ''}${v.message}`);
  return `\nVolumes:\n${indent(t)}${notes.length > 0 ? `\nVolume errors:\n${notes.join('\n')}\n` : ''}`;
}

function listSection(title: string, items: string[] | undefined): string {
  return items && items.length > 0 ? `\n${title}:\n${items.map((i) => `  - ${i}`).join('\n')}\n` : '';
}

function eventsSection(events: EventLine[], now: number): string {
  if (events.length === 0) return '\nEvents: none\n';
  const t = table(
    [
      { header: 'type', cell: (e: EventLine) => e.type },
      { header: 'reason', cell: (e) => e.reason },
      { header: 'age', cell: (e) => (e.time ? age(e.time, now) : '-') + (e.count && e.count > 1 ? ` (x${e.count})` : '') },
      { header: 'message', cell: (e) => e.message },
    ],
    events.slice(-20),
  );
  return `\nEvents:\n${indent(t)}`;
}

const indent = (text: string): string => text.replace(/^(?=.)/gm, '  ');

export function describeBackup(b: Backup, events: EventLine[], now: number): string {
  const s = b.status;
  const spec = b.spec ?? { storageLocation: '' };
  const selection = [
    spec.includeVolumes ? `only ${spec.includeVolumes.join(', ')}` : 'every PVC of the namespace',
    spec.excludeVolumes ? `except ${spec.excludeVolumes.join(', ')}` : '',
    spec.podSelector ? `mounted by pods matching ${selectorText(spec.podSelector)}` : '',
    spec.includedNamespaces ? `of namespaces ${spec.includedNamespaces.join(', ')}` : '',
  ].filter((x) => x !== '').join(', ');
  return (
    fields([
      ['Name', b.metadata.name],
      ['Namespace', b.metadata.namespace],
      ['Phase', statusText(s)],
      ['Message', s?.message],
      ['Error code', s?.errorCode],
      ['Location', spec.storageLocation],
      ['Volumes', selection],
      ['TTL', spec.ttl ?? (b.metadata.labels?.[LABEL_SYNCED] === 'true' ? undefined : 'the coordinator\'s default')],
      ['Synced', b.metadata.labels?.[LABEL_SYNCED] === 'true' ? 'yes: found in the bucket of the location' : undefined],
      ['Created', timeWithAge(b.metadata.creationTimestamp, now)],
      ['Started', s?.startTimestamp ? timeWithAge(s.startTimestamp, now) : undefined],
      ['Completed', tookText(s?.startTimestamp, s?.completionTimestamp, now)],
      ['Expires', s?.expiration ? `${s.expiration} (${until(s.expiration, now)})` : undefined],
      ['Progress', progressText(s?.progress)],
    ]) +
    listSection('Validation errors', s?.validationErrors) +
    volumesSection(s?.volumes, 'pvc') +
    eventsSection(events, now)
  );
}

export function describeRestore(r: Restore, events: EventLine[], now: number): string {
  const s = r.status;
  const spec = r.spec ?? { backupName: '' };
  return (
    fields([
      ['Name', r.metadata.name],
      ['Namespace', r.metadata.namespace],
      ['Phase', statusText(s)],
      ['Message', s?.message],
      ['Error code', s?.errorCode],
      ['Backup', spec.backupName],
      ['Volumes', spec.includeVolumes ? `only ${spec.includeVolumes.join(', ')}` : 'every volume of the backup'],
      ['Targets', spec.targets?.map((t) => `${t.volume} -> PVC ${t.pvc}`).join(', ') ?? 'each volume into a PVC of its source\'s name'],
      ['Paths', spec.paths?.join(', ')],
      ['Created', timeWithAge(r.metadata.creationTimestamp, now)],
      ['Started', s?.startTimestamp ? timeWithAge(s.startTimestamp, now) : undefined],
      ['Completed', tookText(s?.startTimestamp, s?.completionTimestamp, now)],
      ['Progress', progressText(s?.progress)],
    ]) +
    listSection('Validation errors', s?.validationErrors) +
    volumesSection(s?.volumes, 'pvc (target)') +
    eventsSection(events, now)
  );
}
