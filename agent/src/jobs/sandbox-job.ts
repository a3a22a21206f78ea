// What the agent hands a sandboxed child over its stdin pipe: everything the engine needs for
// one job, already validated, and nothing that is a path (the volume is always /volume inside).
export interface StorageConfig {
  endpoint: string;
  pinnedAddress: string;
  bucket: string;
  prefix: string;
  region: string;
  forcePathStyle: boolean;
  caCertPem?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** base64 of the 32-byte key, when the location encrypts. */
  encryptionKey?: string;
}

export type SandboxJob =
  | {
    kind: 'backup';
    storage: StorageConfig;
    backupName: string;
    volumeId: string;
    lineage: { clusterUid: string; pvcUid: string };
    parent?: string;
    source: Record<string, string>;
  }
  | {
    kind: 'restore';
    storage: StorageConfig;
    backupName: string;
    volumeId: string;
    /** Relative paths as base64 of their raw bytes. */
    paths: string[];
    maxBytes: number;
  };

/** Loads the job's modules (and starts a worker) and exits: fills Node's compile cache (compile-cache.ts). */
export interface WarmJob {
  kind: 'warm';
}

/** Lines the child writes on fd 3. */
export type SandboxEvent =
  | { t: 'progress'; bytesDone: number; totalBytes: number; filesDone: number; totalFiles: number; bytesStored: number }
  | { t: 'warning'; code: string; message: string; path: string }
  | { t: 'result'; ok: true; files: number; bytes: number; storedBytes: number; warnings: number; volumeRecord?: string }
  | { t: 'result'; ok: false; code: string; message: string };
