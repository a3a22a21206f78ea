// generated, do not edit: produced by common/scripts/generate-crd-types.ts from manifests/crds/*.yaml
// (npm run gen:crd-types). Change the CRDs and regenerate.

import type { V1ListMeta, V1ObjectMeta } from '@kubernetes/client-node';

// Shapes shared by several kinds

/**
 * One aspect of an object's state, in the shape of metav1.Condition.
 */
export interface Condition {
  /**
   * Type of the condition, in CamelCase.
   */
  type: string;
  /**
   * Whether the condition holds.
   */
  status: 'True' | 'False' | 'Unknown';
  /**
   * The metadata.generation the condition was set for.
   */
  observedGeneration?: number;
  /**
   * When the status last changed.
   */
  lastTransitionTime: string;
  /**
   * Machine-readable reason for the last transition, in CamelCase.
   */
  reason: string;
  /**
   * Human-readable details of the last transition.
   */
  message: string;
}

/**
 * A Kubernetes label selector (metav1.LabelSelector).
 */
export interface LabelSelector {
  /**
   * Labels a pod must have, all of them, with these values.
   */
  matchLabels?: {
    [k: string]: string;
  };
  /**
   * Label requirements a pod must meet, all of them.
   *
   * @maxItems 16
   *
   * Items: One label requirement, as in a Kubernetes LabelSelector.
   */
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * One requirement of a label selector.
 */
export interface LabelSelectorRequirement {
  /**
   * The label key the requirement applies to.
   */
  key: string;
  /**
   * How the key relates to the values.
   */
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /**
   * Label values; non-empty for In and NotIn, empty for Exists and DoesNotExist.
   *
   * @maxItems 64
   */
  values?: string[];
}

/**
 * A job running on a node.
 */
export interface NodeAgentJob {
  /**
   * The job's id, as in the agent's logs.
   */
  id?: string;
  /**
   * Namespace of the Backup or Restore.
   */
  namespace?: string;
  /**
   * Backup or Restore.
   */
  kind?: 'Backup' | 'Restore';
  /**
   * Name of the Backup or Restore.
   */
  name?: string;
  /**
   * The PVC being moved.
   */
  volume?: string;
  /**
   * Bytes moved so far.
   */
  bytesDone?: number;
  /**
   * Bytes to move in total, as far as known.
   */
  totalBytes?: number;
}

/**
 * A key in a Secret of the referring object's own namespace.
 */
export interface SecretKeyRef {
  /**
   * Name of a Secret in the BackupStorageLocation's own namespace.
   */
  name: string;
  /**
   * The key within the Secret's data.
   */
  key: string;
}

/**
 * Progress of a backup or restore.
 */
export interface TransferProgress {
  /**
   * Bytes to move in total, as far as known so far.
   */
  totalBytes?: number;
  /**
   * Bytes moved so far.
   */
  bytesDone?: number;
  /**
   * Files to move in total, as far as known so far.
   */
  totalFiles?: number;
  /**
   * Files moved so far.
   */
  filesDone?: number;
}

/**
 * The state of one volume of a backup or restore.
 */
export interface VolumeStatus {
  /**
   * The pod through which the volume is read: a tenant pod that mounts it, or a Cairn helper pod.
   */
  pod?: string;
  /**
   * The volume's name in that pod.
   */
  volume?: string;
  /**
   * The PVC backed up (for a Restore, the PVC restored into).
   */
  pvc?: string;
  /**
   * The node whose agent moves the data.
   */
  node?: string;
  /**
   * Where this volume is.
   */
  phase?: 'Pending' | 'InProgress' | 'Completed' | 'Failed' | 'Skipped';
  /**
   * Bytes moved for this volume so far.
   */
  bytes?: number;
  /**
   * Files moved for this volume so far.
   */
  files?: number;
  /**
   * Why the volume failed or was skipped.
   */
  message?: string;
  /**
   * Stable CAIRN_E_* code when the volume failed.
   */
  errorCode?: string;
  /**
   * The volume's lineage in the bucket, <cluster uid>.<PVC uid>: the backups of one PVC of one cluster share packs and are each other's incremental parents. For a Restore, the lineage restored from.
   */
  lineage?: string;
}

// Backup (cairn.dev/v1alpha1)

/**
 * What to back up and where to. Immutable once the Backup is created.
 */
export interface BackupSpec {
  /**
   * Name of the BackupStorageLocation to write to. It must be in the Backup's own namespace; references to other namespaces are not possible.
   */
  storageLocation: string;
  /**
   * Namespaces to back up, as names or globs ('*' matches any run of characters, '?' one character). Honoured only for a Backup in the admin namespace (the namespace the coordinator runs in); in any other namespace a Backup covers its own namespace only, and a value other than that namespace fails validation.
   *
   * @maxItems 64
   */
  includedNamespaces?: string[];
  /**
   * When set, only the volumes mounted by pods matching this label selector are backed up (so PVCs that no matching pod mounts are skipped). When absent, every PVC of the namespace is backed up, through a pod that mounts it or through a Cairn helper pod when none does.
   */
  podSelector?: LabelSelector;
  /**
   * Names of the PVCs to back up; when set, only these are. A PVC annotated cairn.dev/exclude=true is skipped even when listed. Cannot be combined with excludeVolumes.
   *
   * @maxItems 128
   */
  includeVolumes?: string[];
  /**
   * Names of PVCs not to back up, in addition to those annotated cairn.dev/exclude=true. Cannot be combined with includeVolumes.
   *
   * @maxItems 128
   */
  excludeVolumes?: string[];
  /**
   * How long to keep the backup, as a Go duration (720h, 1h30m, 90s). When absent the coordinator's default applies (720h unless the admin configured another). The resulting time is shown in status.expiration.
   */
  ttl?: string;
}

/**
 * Written by the coordinator only; tenants cannot change it.
 */
export interface BackupStatus {
  /**
   * Where the backup is in its life. Completed, PartiallyFailed, Failed and FailedValidation are final; Deleting means a DeleteBackupRequest or expiration is removing it.
   */
  phase?:
    | 'New'
    | 'Queued'
    | 'InProgress'
    | 'Completed'
    | 'PartiallyFailed'
    | 'Failed'
    | 'FailedValidation'
    | 'Deleting';
  /**
   * Human-readable summary of the current phase, or why it failed.
   */
  message?: string;
  /**
   * Stable CAIRN_E_* code when the backup Failed or FailedValidation.
   */
  errorCode?: string;
  /**
   * Position in the fair queue while Queued (1 is next); absent otherwise.
   */
  queuePosition?: number;
  /**
   * Why the spec was refused, one entry per problem, when FailedValidation.
   */
  validationErrors?: string[];
  /**
   * Progress over all volumes.
   */
  progress?: TransferProgress;
  /**
   * One entry per volume considered, including those skipped or failed.
   *
   * Items: The state of one volume.
   */
  volumes?: VolumeStatus[];
  /**
   * When the coordinator started moving data.
   */
  startTimestamp?: string;
  /**
   * When the backup reached a final phase.
   */
  completionTimestamp?: string;
  /**
   * When the backup will be deleted (creation time plus ttl).
   */
  expiration?: string;
  /**
   * The metadata.generation this status describes.
   */
  observedGeneration?: number;
  /**
   * Standard Kubernetes conditions (metav1.Condition).
   *
   * Items: One aspect of the object's state (metav1.Condition).
   */
  conditions?: Condition[];
}

/**
 * A Backup copies the persistent volumes of its own namespace, file by file, to the object storage of a BackupStorageLocation in the same namespace. Every PVC of the namespace is backed up unless excluded; a volume that cannot be backed up makes the Backup PartiallyFailed with a reason in status.volumes.
 */
export interface Backup {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'Backup';
  metadata: V1ObjectMeta;
  spec: BackupSpec;
  status?: BackupStatus;
}

export interface BackupList {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'BackupList';
  metadata: V1ListMeta;
  items: Backup[];
}

// BackupStorageLocation (cairn.dev/v1alpha1)

/**
 * Where the bucket is and how to reach it.
 */
export interface BackupStorageLocationSpec {
  /**
   * The bucket and the prefix inside it. Immutable: to move backups elsewhere, create another BackupStorageLocation.
   */
  objectStorage: {
    /**
     * Name of the bucket. A path inside it goes in prefix.
     */
    bucket: string;
    /**
     * Path inside the bucket under which Cairn keeps everything, without leading or trailing '/', e.g. team-a/cluster-1. Default: the bucket's root.
     */
    prefix?: string;
  };
  /**
   * How to reach the bucket.
   */
  config?: {
    /**
     * The bucket's region, e.g. eu-central-1.
     */
    region?: string;
    /**
     * URL of the S3 API, e.g. https://minio.example.com:9000, when not AWS. No credentials, path, query or fragment. The address it resolves to is checked against the admin's endpoint policy (no loopback, link-local, cluster or, unless allow-listed, private addresses).
     */
    endpoint?: string;
    /**
     * Address the bucket as https://endpoint/bucket instead of https://bucket.endpoint (needed by MinIO and most non-AWS stores).
     */
    forcePathStyle?: boolean;
    /**
     * PEM-encoded CA certificate(s) for the endpoint's TLS certificate. When set, only these CAs are trusted for the endpoint. (Velero takes base64 bytes here; Cairn takes the PEM text itself.)
     */
    caCert?: string;
  };
  /**
   * The Secret in this namespace holding the credentials for the bucket (in the AWS shared-credentials file format, as Velero's), and the key in it. The author of the BackupStorageLocation must be allowed to read it.
   */
  credential: SecretKeyRef;
  /**
   * Client-side encryption (AES-256-GCM) of everything written to the bucket, so that whoever administers the storage cannot read it. When absent, data is stored unencrypted.
   */
  encryption?: {
    /**
     * The Secret in this namespace holding the encryption key (32 random bytes), and the key in it. Losing it loses the backups.
     */
    keySecret: SecretKeyRef;
  };
  /**
   * ReadWrite: Backups are written here and expired backups deleted. ReadOnly: only synced and restored from; nothing in the bucket is written or deleted (use it to restore another namespace's or cluster's backups).
   */
  accessMode?: 'ReadWrite' | 'ReadOnly';
  /**
   * How often to list the bucket for backups to sync into the namespace, as a Go duration (e.g. 1m, 1h). 0s turns syncing off. When absent the coordinator's default applies.
   */
  syncPeriod?: string;
}

/**
 * Written by the coordinator only; tenants cannot change it.
 */
export interface BackupStorageLocationStatus {
  /**
   * Available when the coordinator last reached the bucket with the credentials, Unavailable otherwise (see reason and message).
   */
  phase?: 'Available' | 'Unavailable';
  /**
   * Human-readable explanation of the phase. Never echoes responses from the endpoint.
   */
  message?: string;
  /**
   * Stable CAIRN_E_* code when Unavailable.
   */
  reason?: string;
  /**
   * When the coordinator last checked the location.
   */
  lastValidationTime?: string;
  /**
   * When the coordinator last synced backups from the bucket.
   */
  lastSyncedTime?: string;
  /**
   * The metadata.generation this status describes.
   */
  observedGeneration?: number;
  /**
   * Standard Kubernetes conditions (metav1.Condition).
   *
   * Items: One aspect of the object's state (metav1.Condition).
   */
  conditions?: Condition[];
}

/**
 * A BackupStorageLocation is an S3-compatible bucket, or a prefix in one, that Backups of the same namespace are written to and Restores read from, with the credentials for it taken from a Secret in the same namespace. Backups found in it are synced into the namespace as Backup objects.
 */
export interface BackupStorageLocation {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'BackupStorageLocation';
  metadata: V1ObjectMeta;
  spec: BackupStorageLocationSpec;
  status?: BackupStorageLocationStatus;
}

export interface BackupStorageLocationList {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'BackupStorageLocationList';
  metadata: V1ListMeta;
  items: BackupStorageLocation[];
}

// DeleteBackupRequest (cairn.dev/v1alpha1)

/**
 * Which Backup to delete. Immutable once the request is created.
 */
export interface DeleteBackupRequestSpec {
  /**
   * Name of the Backup to delete, in the request's own namespace.
   */
  backupName: string;
}

/**
 * Written by the coordinator only; tenants cannot change it.
 */
export interface DeleteBackupRequestStatus {
  /**
   * New, InProgress, Processed when the data and the Backup are gone, Failed otherwise (see errors). Processed and Failed are final.
   */
  phase?: 'New' | 'InProgress' | 'Processed' | 'Failed';
  /**
   * What went wrong, one entry per problem, when Failed.
   */
  errors?: string[];
  /**
   * Stable CAIRN_E_* code when Failed.
   */
  errorCode?: string;
  /**
   * What was deleted from the bucket.
   */
  removed?: {
    /**
     * Whether the backup's manifest was deleted.
     */
    manifest?: boolean;
    /**
     * Number of volume index objects deleted.
     */
    index?: number;
    /**
     * Number of pack objects deleted (those no other backup references).
     */
    packs?: number;
  };
  /**
   * When the request reached Processed or Failed.
   */
  completionTimestamp?: string;
}

/**
 * A DeleteBackupRequest deletes a Backup of the same namespace: first its data in the bucket (manifest, then indexes, then the packs no other backup references), then the Backup object. It is refused while the Backup is in progress, and fails for a Backup whose BackupStorageLocation is ReadOnly.
 */
export interface DeleteBackupRequest {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'DeleteBackupRequest';
  metadata: V1ObjectMeta;
  spec: DeleteBackupRequestSpec;
  status?: DeleteBackupRequestStatus;
}

export interface DeleteBackupRequestList {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'DeleteBackupRequestList';
  metadata: V1ListMeta;
  items: DeleteBackupRequest[];
}

// NodeAgent (cairn.dev/v1alpha1)

/**
 * Which node this is about.
 */
export interface NodeAgentSpec {
  /**
   * The node the agent runs on (also the object's name).
   */
  nodeName?: string;
}

/**
 * Written by the coordinator only.
 */
export interface NodeAgentStatus {
  /**
   * The node the agent runs on.
   */
  nodeName?: string;
  /**
   * The agent's version.
   */
  version?: string;
  /**
   * Whether the agent answered its last status call over mTLS.
   */
  ready?: boolean;
  /**
   * When the coordinator last heard from the agent.
   */
  lastHeartbeatTime?: string;
  /**
   * Number of jobs running on the node.
   */
  activeJobs?: number;
  /**
   * The jobs running on the node.
   *
   * Items: One running job.
   */
  jobs?: NodeAgentJob[];
  /**
   * Throughput of all jobs on the node, averaged over the last status interval.
   */
  bytesPerSecond?: number;
  /**
   * Free space on the filesystem of the kubelet directory.
   */
  freeBytes?: number;
  /**
   * Resident memory of the agent.
   */
  memoryBytes?: number;
  /**
   * The agent's last error, if any, with its CAIRN_E_* code.
   */
  lastError?: string;
  /**
   * Seconds since the agent started.
   */
  uptimeSeconds?: number;
}

/**
 * A NodeAgent reports the state of the Cairn agent on one node, named after the node. Written by the coordinator for admins; tenants cannot read it.
 */
export interface NodeAgent {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'NodeAgent';
  metadata: V1ObjectMeta;
  spec?: NodeAgentSpec;
  status?: NodeAgentStatus;
}

export interface NodeAgentList {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'NodeAgentList';
  metadata: V1ListMeta;
  items: NodeAgent[];
}

// Restore (cairn.dev/v1alpha1)

/**
 * What to restore and where to. Immutable once the Restore is created.
 */
export interface RestoreSpec {
  /**
   * Name of the Backup to restore from, in the Restore's own namespace.
   */
  backupName: string;
  /**
   * Volumes of the backup to restore, by the name of the PVC they were backed up from. When absent, every volume of the backup is restored.
   *
   * @maxItems 128
   */
  includeVolumes?: string[];
  /**
   * Where to restore volumes to, when not into a new PVC of the source PVC's name. Each volume appears at most once and each PVC at most once.
   *
   * @maxItems 64
   *
   * Items: One volume of the backup and the PVC to restore it into.
   */
  targets?: {
    /**
     * The volume of the backup, by the name of the PVC it was backed up from.
     */
    volume: string;
    /**
     * The PVC in this namespace to restore into. Created by the Restore when absent; when it exists, no running pod may mount it.
     */
    pvc: string;
  }[];
  /**
   * Restore only these files and directories (a directory with everything under it), given relative to the volume's root, in every volume restored. When absent, everything is restored.
   *
   * @maxItems 256
   */
  paths?: string[];
}

/**
 * Written by the coordinator only; tenants cannot change it.
 */
export interface RestoreStatus {
  /**
   * Where the restore is in its life. Completed, PartiallyFailed, Failed and FailedValidation are final.
   */
  phase?:
    | 'New'
    | 'Queued'
    | 'InProgress'
    | 'Completed'
    | 'PartiallyFailed'
    | 'Failed'
    | 'FailedValidation';
  /**
   * Human-readable summary of the current phase, or why it failed.
   */
  message?: string;
  /**
   * Stable CAIRN_E_* code when the restore Failed or FailedValidation.
   */
  errorCode?: string;
  /**
   * Position in the fair queue while Queued (1 is next); absent otherwise.
   */
  queuePosition?: number;
  /**
   * Why the spec was refused, one entry per problem, when FailedValidation.
   */
  validationErrors?: string[];
  /**
   * Progress over all volumes.
   */
  progress?: TransferProgress;
  /**
   * One entry per volume considered, including those skipped or failed.
   *
   * Items: The state of one volume.
   */
  volumes?: VolumeStatus[];
  /**
   * When the coordinator started moving data.
   */
  startTimestamp?: string;
  /**
   * When the restore reached a final phase.
   */
  completionTimestamp?: string;
  /**
   * The metadata.generation this status describes.
   */
  observedGeneration?: number;
  /**
   * Standard Kubernetes conditions (metav1.Condition).
   *
   * Items: One aspect of the object's state (metav1.Condition).
   */
  conditions?: Condition[];
}

/**
 * A Restore writes the volumes of a Backup in the same namespace into PVCs of this namespace. A Backup taken in another namespace or cluster and synced here through a ReadOnly BackupStorageLocation is remapped into this namespace. By default each volume is restored into a new PVC of the source PVC's name, which the Restore creates; it never writes into a volume that a running pod mounts.
 */
export interface Restore {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'Restore';
  metadata: V1ObjectMeta;
  spec: RestoreSpec;
  status?: RestoreStatus;
}

export interface RestoreList {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'RestoreList';
  metadata: V1ListMeta;
  items: Restore[];
}

// Schedule (cairn.dev/v1alpha1)

/**
 * When to back up, what, and how many backups to keep.
 */
export interface ScheduleSpec {
  /**
   * When to create a Backup: a five-field cron expression (minute hour day-of-month month day-of-week, e.g. "0 2 * * *") or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly. Evaluated in timeZone.
   */
  schedule: string;
  /**
   * IANA time zone name the schedule is evaluated in, e.g. Europe/Berlin. Default UTC.
   */
  timeZone?: string;
  /**
   * While true, no Backups are created; retention still applies.
   */
  paused?: boolean;
  /**
   * What to do when runs were missed, e.g. while the coordinator was down: RunLatest creates one Backup for the latest missed run as soon as possible, Skip waits for the next scheduled time.
   */
  missedRunPolicy?: 'RunLatest' | 'Skip';
  /**
   * How many of this Schedule's completed Backups to keep, as in restic's forget: a Backup is kept while any rule selects it, and deleted otherwise. Cannot be combined with template.ttl. When absent, each Backup lives for its ttl.
   */
  retention?: {
    /**
     * Keep the newest n backups.
     */
    keepLast?: number;
    /**
     * Keep the newest backup of each of the last n hours that have one.
     */
    keepHourly?: number;
    /**
     * Keep the newest backup of each of the last n days that have one.
     */
    keepDaily?: number;
    /**
     * Keep the newest backup of each of the last n weeks that have one.
     */
    keepWeekly?: number;
    /**
     * Keep the newest backup of each of the last n months that have one.
     */
    keepMonthly?: number;
  };
  /**
   * The spec of each Backup created, exactly as a Backup's spec. Changing it affects only Backups created afterwards.
   */
  template: BackupSpec;
}

/**
 * Written by the coordinator only; tenants cannot change it.
 */
export interface ScheduleStatus {
  /**
   * Enabled when the Schedule is creating Backups, Paused while spec.paused is true, FailedValidation when the spec was refused (see validationErrors).
   */
  phase?: 'Enabled' | 'Paused' | 'FailedValidation';
  /**
   * Human-readable summary of the current phase.
   */
  message?: string;
  /**
   * Name of the last Backup this Schedule created.
   */
  lastBackup?: string;
  /**
   * The scheduled time of the last Backup this Schedule created.
   */
  lastScheduleTime?: string;
  /**
   * When the next Backup is due.
   */
  nextBackup?: string;
  /**
   * Why the spec was refused, one entry per problem, when FailedValidation.
   */
  validationErrors?: string[];
  /**
   * The metadata.generation this status describes.
   */
  observedGeneration?: number;
  /**
   * Standard Kubernetes conditions (metav1.Condition).
   *
   * Items: One aspect of the object's state (metav1.Condition).
   */
  conditions?: Condition[];
}

/**
 * A Schedule creates a Backup from its template at each time its cron expression names, and deletes the Backups it created once its retention or their ttl lets them go.
 */
export interface Schedule {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'Schedule';
  metadata: V1ObjectMeta;
  spec: ScheduleSpec;
  status?: ScheduleStatus;
}

export interface ScheduleList {
  apiVersion: 'cairn.dev/v1alpha1';
  kind: 'ScheduleList';
  metadata: V1ListMeta;
  items: Schedule[];
}
