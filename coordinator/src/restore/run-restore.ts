// One Restore, run: read the backup's manifest from its location (authenticated when encrypted;
// a ReadOnly location's store cannot write), and for each volume chosen: the target PVC (created
// when absent), a Cairn helper pod that mounts it writable, the verified mount resolved through
// that helper, and a restore job on the helper's node. The target must pass the same checks as a
// backup source, and no other pod may mount it. Whatever the backup's source namespace or
// cluster, everything lands in the Restore's own namespace.
import { randomUUID } from 'node:crypto';
import type { Restore, RestoreStatus, BackupStorageLocation, Backup } from '../../../common/src/crds.ts';
import { CairnError } from '../../../common/src/errors.ts';
import { manifestKey } from '../../../common/src/format/layout.ts';
import { decodeManifest, type VolumeRecord } from '../../../common/src/format/manifest.ts';
import type { Logger } from '../../../common/src/logger.ts';
import { createS3Store, type ObjectStore } from '../../../common/src/store/object-store.ts';
import { createHelperPod, deleteHelperPod, ownerOf, waitForRunning } from '../jobs/helper-pods.ts';
import { callAgent } from '../jobs/agent-call.ts';
import { describeError } from '../jobs/errors.ts';
import { forEachLimited, type JobDeps } from '../jobs/job-deps.ts';
import type { RunProgress } from '../jobs/run-progress.ts';
import { readOnlyStore } from '../location/read-only-store.ts';
import { agentStorageTarget, resolveLocation, storeConfigFor, type ResolvedLocation } from '../location/validate-location.ts';
import { resolveVolumes } from '../resolve/resolve-volumes.ts';
import { ensureTargetPvc, refuseIfMounted } from './target-pvc.ts';
import { VolumeWarnings } from '../jobs/volume-warnings.ts';

export type RestoreOutcome = Pick<RestoreStatus, 'phase' | 'message' | 'errorCode'>;

export interface RestoreRunInput {
  restore: Restore;
  backup: Backup;
  location: BackupStorageLocation;
  progress: RunProgress;
  signal: AbortSignal;
  log: Logger;
}

interface VolumeWork {
  record: VolumeRecord;
  target: string;
  index: number;
}

/** The name a volume had in its backup: the source PVC's name (the volume id otherwise). */
export function sourceName(v: VolumeRecord): string {
  return v.source?.pvc ?? v.id;
}

export async function runRestore(deps: JobDeps, input: RestoreRunInput): Promise<RestoreOutcome> {
  const { restore, progress, signal, log } = input;
  const backupName = input.backup.metadata.name!;
  let loc: ResolvedLocation;
  try {
    loc = await resolveLocation(input.location, deps.location);
  } catch (err) {
    signal.throwIfAborted();
    const d = describeError(err, `the Backup's location ${input.location.metadata.name}`);
    return { phase: 'Failed', errorCode: d.code, message: d.message };
  }
  const raw = createS3Store(storeConfigFor(loc, { logger: log }));
  const store: ObjectStore = readOnlyStore(raw, `${loc.namespace}/${loc.name}`); // a restore never writes to the bucket
  try {
    let volumes: VolumeRecord[];
    try {
      const mk = manifestKey(backupName);
      volumes = decodeManifest(await store.getObject(mk, { signal }), mk, backupName, loc.encryptionKey?.reveal()).volumes;
    } catch (err) {
      signal.throwIfAborted();
      const d = describeError(err, `reading the manifest of backup ${backupName} failed`);
      return { phase: 'Failed', errorCode: d.code, message: d.message };
    }
    const include = restore.spec.includeVolumes;
    const targets = new Map((restore.spec.targets ?? []).map((t) => [t.volume, t.pvc]));
    const work: VolumeWork[] = [];
    for (const v of volumes) {
      const name = sourceName(v);
      if (include && !include.includes(name)) {
        progress.add({ pvc: name, phase: 'Skipped', message: `volume ${name} is not listed in spec.includeVolumes` });
        continue;
      }
      const target = targets.get(name) ?? name;
      work.push({ record: v, target, index: progress.add({ pvc: target, phase: 'Pending', lineage: v.lineage }) });
    }
    for (const name of include ?? []) {
      if (!volumes.some((v) => sourceName(v) === name)) progress.add({ pvc: name, phase: 'Failed', errorCode: 'CAIRN_E_NOT_FOUND', message: `spec.includeVolumes: backup ${backupName} has no volume ${name}` });
    }
    for (const [volume] of targets) {
      if (!volumes.some((v) => sourceName(v) === volume)) progress.add({ pvc: volume, phase: 'Failed', errorCode: 'CAIRN_E_NOT_FOUND', message: `spec.targets: backup ${backupName} has no volume ${volume}` });
    }

    await forEachLimited(work, deps.volumesInParallel, (w) => restoreVolume(deps, input, loc, w));
    signal.throwIfAborted();
    const done = progress.volumes.filter((v) => v.phase === 'Completed').length;
    const failed = progress.volumes.filter((v) => v.phase === 'Failed');
    const summary = `${done} volume(s) restored${failed.length ? `, ${failed.length} failed` : ''}`;
    if (failed.length === 0) return { phase: 'Completed', message: summary };
    if (done === 0) return { phase: 'Failed', errorCode: failed[0]!.errorCode ?? 'CAIRN_E_INTERNAL', message: `${summary}: ${failed[0]!.message ?? ''}`.slice(0, 2048) };
    return { phase: 'PartiallyFailed', errorCode: failed[0]!.errorCode ?? 'CAIRN_E_INTERNAL', message: `${summary}: see status.volumes` };
  } finally {
    store.close();
  }
}

async function restoreVolume(deps: JobDeps, input: RestoreRunInput, loc: ResolvedLocation, w: VolumeWork): Promise<void> {
  const { restore, progress, signal } = input;
  const ns = restore.metadata.namespace!;
  const log = input.log.child({ pvc: w.target, sourceVolume: w.record.id });
  let helper: string | undefined;
  try {
    const owner = ownerOf('Restore', restore);
    const { pvc, created } = await ensureTargetPvc(deps.core, { namespace: ns, name: w.target, volume: w.record, restore: restore.metadata.name! });
    if (created) progress.update(w.index, { message: `created PVC ${w.target}` });
    await refuseIfMounted(deps.core, pvc);
    const agentNodes = [...(await deps.agents.list()).keys()];
    const pod = await createHelperPod(deps.core, { pvc, owner, ownerNamespace: ns, nodes: agentNodes, readOnly: false, ...(deps.helperImage ? { image: deps.helperImage } : {}) }, { signal });
    helper = pod.metadata!.name!;
    progress.update(w.index, { pod: helper, message: 'waiting for the helper pod that mounts the target PVC' });
    const running = await waitForRunning(deps.core, ns, helper, { timeoutMs: deps.helperTimeoutMs, signal });
    // The target passes the same checks as a backup source, through this restore's helper only.
    const resolved = (await resolveVolumes(deps.core, { namespace: ns, policy: deps.policy, agentNodes, includeVolumes: [w.target], signal })).find((r) => r.pvc === w.target);
    if (!resolved || resolved.status === 'excluded' || resolved.status === 'needs-helper-pod') throw new CairnError('CAIRN_E_VOLUME_NOT_READY', `PVC ${w.target}: its mount through helper pod ${helper} could not be resolved`);
    if (resolved.status === 'refused') throw new CairnError(resolved.code, resolved.reason);
    await refuseIfMounted(deps.core, pvc, running.metadata!.uid);
    if (resolved.pod.uid !== running.metadata!.uid) {
      throw new CairnError('CAIRN_E_VOLUME_REFUSED', `PVC ${w.target} is mounted by pod ${resolved.pod.name}; a restore writes only through its own helper pod`);
    }
    progress.update(w.index, { pod: resolved.pod.name, volume: resolved.volume.volumeName, node: resolved.pod.node, phase: 'InProgress', message: undefined });
    progress.report(w.index, { totalBytes: w.record.bytes, totalFiles: w.record.files });
    const release = await deps.slots.acquire(resolved.pod.node, signal);
    try {
      const conn = await deps.agents.connect(resolved.pod.node);
      const warnings = new VolumeWarnings(log);
      const result = await callAgent(resolved.pod.node, () => conn.restore({
        identity: { jobId: randomUUID(), namespace: ns, ownerKind: 'Restore', ownerName: restore.metadata.name!, attempt: 1 },
        volume: resolved.volume,
        storage: agentStorageTarget(loc),
        backupName: input.backup.metadata.name!,
        sourceVolumeId: w.record.id,
        paths: (restore.spec.paths ?? []).map((p) => Buffer.from(p.replace(/\/+$/, ''), 'utf8')),
        maxBytes: resolved.capacityBytes,
      }, {
        signal,
        onProgress: (p) => progress.report(w.index, { bytesDone: Number(p.bytesDone), filesDone: Number(p.filesDone), ...(Number(p.totalBytes) > 0 ? { totalBytes: Number(p.totalBytes), totalFiles: Number(p.totalFiles) } : {}) }),
        onAccepted: () => progress.update(w.index, { message: undefined }),
        onWarning: warnings.onWarning,
      }), { signal, onWait: (why) => progress.update(w.index, { message: why }) });
      if (!result.ok) {
        progress.update(w.index, { phase: 'Failed', errorCode: result.errorCode || 'CAIRN_E_INTERNAL', message: result.message.slice(0, 1024) });
        return;
      }
      progress.report(w.index, { bytesDone: Number(result.bytes), filesDone: Number(result.files), totalBytes: Number(result.bytes), totalFiles: Number(result.files) });
      progress.update(w.index, { phase: 'Completed', message: `${result.files} files, ${result.bytes} bytes restored from volume ${w.record.id}${warnings.summary(result.warnings)}`.slice(0, 1024) });
    } finally {
      release();
    }
  } catch (err) {
    signal.throwIfAborted();
    log.warn({ err }, 'volume restore failed');
    const d = describeError(err);
    progress.update(w.index, { phase: 'Failed', errorCode: d.code, message: d.message });
  } finally {
    if (helper) await deleteHelperPod(deps.core, ns, helper).catch((err: unknown) => log.warn({ err, pod: helper }, 'deleting the helper pod failed; garbage collection removes it with the Restore'));
  }
}
