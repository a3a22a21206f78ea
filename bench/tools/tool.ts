// What the engine benchmark needs from each backup tool: a fresh repository in its own bucket,
// three backups of the dataset (full, unchanged, after the 1% mutation) and a restore of the
// first one. Every operation is one child process, measured by `measure`.
import type { Measured } from '../measure.ts';

export type ToolName = 'cairn' | 'restic' | 'kopia';
export const toolNames: readonly ToolName[] = ['cairn', 'restic', 'kopia'];

export type BackupKind = 'full' | 'unchanged' | 'changed';

export interface ToolContext {
  /** http://127.0.0.1:<port> of MinIO. */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  datasetDir: string;
  /** A private, empty directory for the tool's config, caches and local state. */
  workDir: string;
  /** Log file for operation `op`. */
  logFile(op: string): string;
  /** Limit for any one operation; a command that takes longer is killed and the sample fails. */
  timeoutMs: number;
}

export interface ToolSession {
  /** Creates the repository (not measured). */
  init(): Promise<void>;
  backup(kind: BackupKind): Promise<Measured>;
  /** Restores the first (full) backup into `target`, an existing empty directory. */
  restoreFull(target: string): Promise<Measured>;
}

export interface Tool {
  name: ToolName;
  /** Why the tool cannot run here, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /** Version string for the report, e.g. "restic 0.14.0". */
  version(): Promise<string>;
  /** The settings used, for the report: compression level and anything not default. */
  settings: string;
  session(ctx: ToolContext): ToolSession;
}
