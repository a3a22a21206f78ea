// One Backup, run: resolve the location (Secrets read and endpoint pinned afresh), resolve every
// PVC of the namespace (or of each included namespace, for an admin Backup) to a verified mount,
// start a helper pod for a PVC no pod mounts, send one job per volume to the agent on its node,
// and write the manifest from the volumes that completed. Every volume ends Completed, Skipped
// (the tenant's opt-out) or Failed with a reason: none goes missing silently.
import { randomUUID } from 'node:crypto';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Backup, BackupStatus } from '../../../common/src/crds.ts';
import { CairnError, codeOf } from '../../../common/src/errors.ts';
import { lineageId, manifestKey } from '../../../common/src/format/layout.ts';
import { decodeManifest, type VolumeRecord } from '../../../common/src/format/manifest.ts';
import { writeManifest } from '../../../common/src/format/manifest-writer.ts';
import type { Logger } from '../../../common/src/logger.ts';
import { createS3Store } from '../../../common/src/store/object-store.ts';
import { createHelperPod, deleteHelperPod, ownerOf, waitForRunning } from '../jobs/helper-pods.ts';
import { callAgent } from '../jobs/agent-call.ts';
import { describeError } from '../jobs/errors.ts';
import { forEachLimited, type JobDeps } from '../jobs/job-deps.ts';
import type { RunProgress } from '../jobs/run-progress.ts';
import { agentStorageTarget, resolveLocation, storeConfigFor, type ResolvedLocation } from '../location/validate-location.ts';
import { resolveVolumes } from '../resolve/resolve-volumes.ts';
import type { ReadyVolume, ResolvedVolume } from '../resolve/types.ts';
import type { BackupStorageLocation } from '../../../common/src/generated/crds.ts';
import { VolumeWarnings } from '../jobs/volume-warnings.ts';

export type BackupOutcome = Pick<BackupStatus, 'phase' | 'message' | 'errorCode'>;

export interface BackupRunInput {
  backup: Backup;
  location: BackupStorageLocation;
  /** The namespaces whose volumes to back up: the Backup's own, or an admin Backup's included ones. */
  namespaces: string[];
  /** Finds the most recent backup of a lineage in the same location, for an incremental run. */
  parentOf: (lineage: string) => string | undefined;
  progress: RunProgress;
  signal: AbortSignal;
  log: Logger;
}

interface VolumeWork {
  namespace: string;
  resolved: Exclude<ResolvedVolume, { status: 'excluded' | 'refused' }>;
  index: number;
}

function volumeIdOf(backupNamespace: string, namespace: string, pvc: string): string {
  return namespace === backupNamespace ? pvc : `${namespace}.${pvc}`;
}

/** Runs the backup; resolves to its final phase. Throws only when aborted. */
export async function runBackup(deps: JobDeps, input: BackupRunInput): Promise<BackupOutcome> {
  const { backup, progress, signal, log } = input;
  const ns = backup.metadata.namespace!;
  const name = backup.metadata.name!;
  const createdAt = new Date();

  let loc: ResolvedLocation;
  try {
    loc = await resolveLocation(input.location, deps.location);
  } catch (err) {
    signal.throwIfAborted();
    const d = describeError(err, `spec.storageLocation ${input.location.metadata.name}`);
    return { phase: 'Failed', errorCode: d.code, message: d.message };
  }
  const done = await completedEarlier(loc, name, progress, signal, log);
  if (done) return done;
  const agents = await deps.agents.list();
  const agentNodes = [...agents.keys()];

  const work: VolumeWork[] = [];
  for (const namespace of input.namespaces) {
    const resolved = await resolveVolumes(deps.core, {
      namespace, policy: deps.policy, agentNodes, signal,
      ...(backup.spec.podSelector ? { podSelector: backup.spec.podSelector } : {}),
      ...(backup.spec.includeVolumes ? { includeVolumes: backup.spec.includeVolumes } : {}),
      ...(backup.spec.excludeVolumes ? { excludeVolumes: backup.spec.excludeVolumes } : {}),
    });
    for (const r of resolved) {
      const pvcName = namespace === ns ? r.pvc : `${namespace}/${r.pvc}`;
      if (r.status === 'excluded') {
        progress.add({ pvc: pvcName, phase: 'Skipped', message: r.reason });
      } else if (r.status === 'refused') {
        progress.add({ pvc: pvcName, phase: 'Failed', errorCode: r.code, message: r.reason });
        if (r.adminDetail) log.warn({ pvc: r.pvc, namespace, rule: r.rule, detail: r.adminDetail }, 'volume refused');
      } else {
        const index = progress.add({ pvc: pvcName, phase: 'Pending', ...(r.status === 'ready' ? { pod: r.pod.name, volume: r.volume.volumeName, node: r.pod.node } : {}) });
        work.push({ namespace, resolved: r, index });
      }
    }
  }

  const store = createS3Store(storeConfigFor(loc, { logger: log }));
  const records: VolumeRecord[] = [];
  try {
    await forEachLimited(work, deps.volumesInParallel, async (w) => {
      const record = await backupVolume(deps, input, loc, w);
      if (record) records.push(record);
    });
    signal.throwIfAborted();
    const failed = progress.volumes.filter((v) => v.phase === 'Failed').length;
    if (failed > 0 && records.length === 0) {
      return { phase: 'Failed', errorCode: progress.volumes.find((v) => v.phase === 'Failed')?.errorCode ?? 'CAIRN_E_INTERNAL', message: `no volume could be backed up: ${failed} failed` };
    }
    records.sort((a, b) => (a.id < b.id ? -1 : 1));
    try {
      await writeManifest(store, name, records, {
        key: loc.encryptionKey, signal, createdAt,
        labels: { 'cairn.dev/namespace': ns, 'cairn.dev/backup': name, 'cairn.dev/cluster-uid': deps.clusterUid },
      });
    } catch (err) {
      signal.throwIfAborted();
      const code = codeOf(err);
      const why = code === 'CAIRN_E_STORE_EXISTS'
        ? `a backup named ${name} already exists in the bucket (its manifest is there); a Backup name is used once per location`
        : describeError(err, 'writing the manifest failed').message;
      return { phase: 'Failed', errorCode: code, message: why };
    }
    const skipped = progress.volumes.filter((v) => v.phase === 'Skipped').length;
    const summary = `${records.length} volume(s) backed up${skipped ? `, ${skipped} skipped` : ''}${failed ? `, ${failed} failed` : ''}`;
    return failed > 0 ? { phase: 'PartiallyFailed', errorCode: 'CAIRN_E_VOLUME_REFUSED', message: `${summary}: see status.volumes` } : { phase: 'Completed', message: summary };
  } finally {
    store.close();
  }
}

/**
 * A previous run of this Backup (a coordinator that stopped, or a leader that lost its lease
 * after writing the manifest but before the status) completed it: report that instead of
 * running it again (the manifest's conditional write would refuse a second completion anyway).
 */
async function completedEarlier(loc: ResolvedLocation, name: string, progress: RunProgress, signal: AbortSignal, log: Logger): Promise<BackupOutcome | undefined> {
  const store = createS3Store(storeConfigFor(loc, { logger: log }));
  try {
    const mk = manifestKey(name);
    if (!(await store.headObject(mk, { signal }))) return undefined;
    const manifest = decodeManifest(await store.getObject(mk, { signal }), mk, name, loc.encryptionKey?.reveal());
    for (const v of manifest.volumes) {
      const i = progress.add({ pvc: v.source?.namespace && v.source.namespace !== loc.namespace ? `${v.source.namespace}/${v.source.pvc ?? v.id}` : v.source?.pvc ?? v.id, phase: 'Completed', lineage: v.lineage, ...(v.source?.pod ? { pod: v.source.pod } : {}), ...(v.source?.node ? { node: v.source.node } : {}) });
      progress.report(i, { bytesDone: v.bytes, totalBytes: v.bytes, filesDone: v.files, totalFiles: v.files });
    }
    log.info({ backup: name }, 'the manifest of this backup exists: a previous run completed it');
    return { phase: 'Completed', message: `${manifest.volumes.length} volume(s) backed up (completed by a previous run of the coordinator)` };
  } finally {
    store.close();
  }
}

async function backupVolume(deps: JobDeps, input: BackupRunInput, loc: ResolvedLocation, w: VolumeWork): Promise<VolumeRecord | undefined> {
  const { backup, progress, signal } = input;
  const log = input.log.child({ volumeNamespace: w.namespace, pvc: w.resolved.pvc });
  let helper: string | undefined;
  try {
    let ready: ReadyVolume;
    const pvc = await deps.core.readNamespacedPersistentVolumeClaim({ namespace: w.namespace, name: w.resolved.pvc });
    if (pvc.metadata?.uid !== w.resolved.pvcUid) throw new CairnError('CAIRN_E_VOLUME_NOT_READY', `PVC ${w.resolved.pvc} was replaced while the backup started`);
    if (w.resolved.status === 'ready') {
      ready = w.resolved;
    } else {
      const h = await startHelper(deps, input, pvc, w);
      helper = h.helper;
      ready = h.ready;
    }
    progress.update(w.index, { pod: ready.pod.name, volume: ready.volume.volumeName, node: ready.pod.node, phase: 'InProgress' });
    const lineage = lineageId({ clusterUid: deps.clusterUid, pvcUid: ready.pvcUid });
    progress.update(w.index, { lineage });
    const release = await deps.slots.acquire(ready.pod.node, signal);
    try {
      const conn = await deps.agents.connect(ready.pod.node);
      const volumeId = volumeIdOf(backup.metadata.namespace!, w.namespace, ready.pvc);
      const parent = input.parentOf(lineage);
      let warnings = new VolumeWarnings(log);
      const job = (parentBackup: string | undefined) => callAgent(ready.pod.node, () => conn.backup({
        identity: { jobId: randomUUID(), namespace: w.namespace, ownerKind: 'Backup', ownerName: backup.metadata.name!, attempt: 1 },
        volume: ready.volume,
        storage: agentStorageTarget(loc),
        backupName: backup.metadata.name!,
        lineage: { clusterUid: deps.clusterUid, pvcUid: ready.pvcUid },
        ...(parentBackup ? { parentBackup } : {}),
        options: { progressIntervalMs: 1000 },
        volumeId,
      }, {
        signal,
        onProgress: (p) => progress.report(w.index, { bytesDone: Number(p.bytesDone), totalBytes: Number(p.totalBytes), filesDone: Number(p.filesDone), totalFiles: Number(p.totalFiles) }),
        onAccepted: () => progress.update(w.index, { message: undefined }),
        onWarning: (warning) => warnings.onWarning(warning),
      }), { signal, onWait: (why) => progress.update(w.index, { message: why }) });
      let result = await job(parent);
      if (!result.ok && parent && (result.errorCode === 'CAIRN_E_NOT_FOUND' || result.errorCode === 'CAIRN_E_STORE_NOT_FOUND')) {
        log.warn({ parent, code: result.errorCode }, 'parent backup unusable; backing up in full');
        warnings = new VolumeWarnings(log);
        result = await job(undefined);
      }
      if (!result.ok) {
        progress.update(w.index, { phase: 'Failed', errorCode: result.errorCode || 'CAIRN_E_INTERNAL', message: result.message.slice(0, 1024) });
        return undefined;
      }
      const record = JSON.parse(result.volumeRecordJson) as VolumeRecord;
      record.source = {
        cluster: deps.clusterUid, namespace: w.namespace, pvc: ready.pvc, pod: ready.pod.name, node: ready.pod.node,
        capacity: String(ready.capacityBytes),
        ...(pvc.spec?.storageClassName ? { storageClass: pvc.spec.storageClassName } : {}),
        ...(pvc.spec?.accessModes?.length ? { accessModes: pvc.spec.accessModes.join(',') } : {}),
      };
      progress.report(w.index, { bytesDone: Number(result.bytes), totalBytes: Number(result.bytes), filesDone: Number(result.files), totalFiles: Number(result.files) });
      progress.update(w.index, { phase: 'Completed', message: `${result.files} files, ${result.bytes} bytes, ${result.storedBytes} bytes stored${parent ? ` (incremental from ${parent})` : ''}${warnings.summary(result.warnings)}`.slice(0, 1024) });
      return record;
    } finally {
      release();
    }
  } catch (err) {
    signal.throwIfAborted();
    log.warn({ err }, 'volume backup failed');
    const d = describeError(err);
    progress.update(w.index, { phase: 'Failed', errorCode: d.code, message: d.message });
    return undefined;
  } finally {
    if (helper) await deleteHelperPod(deps.core, w.namespace, helper).catch((err: unknown) => log.warn({ err, pod: helper }, 'deleting the helper pod failed; garbage collection removes it with the Backup'));
  }
}

/** Starts a helper pod for the PVC and resolves the volume again through it. */
async function startHelper(deps: JobDeps, input: BackupRunInput, pvc: V1PersistentVolumeClaim, w: VolumeWork): Promise<{ helper: string; ready: ReadyVolume }> {
  const agentNodes = [...(await deps.agents.list()).keys()];
  const pod = await createHelperPod(deps.core, { pvc, owner: ownerOf('Backup', input.backup), ownerNamespace: input.backup.metadata.namespace!, nodes: agentNodes, readOnly: true, ...(deps.helperImage ? { image: deps.helperImage } : {}) }, { signal: input.signal });
  const helper = pod.metadata!.name!;
  input.progress.update(w.index, { pod: helper, message: 'waiting for the helper pod that mounts this PVC' });
  await waitForRunning(deps.core, w.namespace, helper, { timeoutMs: deps.helperTimeoutMs, signal: input.signal });
  const again = (await resolveVolumes(deps.core, { namespace: w.namespace, policy: deps.policy, agentNodes, includeVolumes: [w.resolved.pvc], signal: input.signal }))
    .find((r) => r.pvc === w.resolved.pvc);
  if (!again || again.status === 'excluded' || again.status === 'needs-helper-pod') throw new CairnError('CAIRN_E_VOLUME_NOT_READY', `PVC ${w.resolved.pvc}: helper pod ${helper} runs but its mount could not be resolved`);
  if (again.status === 'refused') throw new CairnError(again.code, again.reason);
  input.progress.update(w.index, { message: undefined });
  return { helper, ready: again };
}

