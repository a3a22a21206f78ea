// The data engine's public API: backup and restore of one volume, the manifest writer, and the
// garbage collector (which the coordinator runs).
export { backup, type BackupOptions, type BackupResult } from './backup.ts';
export { writeManifest, type ManifestOptions } from '../../../common/src/format/manifest-writer.ts';
export { restore, type RestoreOptions, type RestoreResult } from './restore.ts';
export { collectGarbage, type GcOptions, type GcResult } from '../../../common/src/gc/garbage-collect.ts';
export { CompressPool } from './compress-pool.ts';
export type { Progress } from './progress.ts';
export type { Warning, WarningCode } from './warnings.ts';
export type { Tuning } from './tuning.ts';
