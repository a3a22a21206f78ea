// What the command line asked for, as plain data: the program (program.ts) produces one of these
// and the commands (../commands/) carry it out. Secret values are wrapped so that printing an
// invocation never shows them.
import type { LabelSelector } from '../../../common/src/crds.ts';
import type { Secret } from '../../../common/src/secret.ts';
import type { Target } from './values.ts';

export const outputFormats = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof outputFormats)[number];

/** Where to connect, as kubectl takes it. */
export interface Connection {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Wait {
  wait: boolean;
  /** Give up waiting after this long (exit 6); absent: wait until a final phase. */
  timeoutMs?: number;
}

export interface Listing {
  /** One object by name, or all of the namespace. */
  name?: string;
  allNamespaces: boolean;
  output: OutputFormat;
}

/** Which Backups: the spec fields shared by `backup create` and a Schedule's template. */
export interface BackupSelection {
  location?: string;
  includeVolumes?: string[];
  excludeVolumes?: string[];
  selector?: LabelSelector;
  ttl?: string;
}

/** Where the credentials of a new location come from. */
export type CredentialSource =
  | { from: 'keys'; accessKeyId: string; secretAccessKey: Secret | 'stdin'; sessionToken?: Secret }
  | { from: 'file'; path: string }
  /** No credentials given: the Secret named by --credential-secret must exist already. */
  | { from: 'existing' };

export interface Retention {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

export type Command =
  | ({ command: 'backup create'; name: string } & BackupSelection & Wait)
  | ({ command: 'backup get' } & Listing)
  | { command: 'backup describe'; name: string }
  | ({ command: 'backup delete'; name: string } & Wait)
  | ({ command: 'restore create'; name?: string; backup: string; includeVolumes?: string[]; targets?: Target[]; paths?: string[] } & Wait)
  | ({ command: 'restore get' } & Listing)
  | { command: 'restore describe'; name: string }
  | ({ command: 'schedule create'; name: string; schedule: string; timeZone?: string; paused: boolean; missedRunPolicy?: 'RunLatest' | 'Skip'; retention?: Retention } & BackupSelection)
  | ({ command: 'schedule get' } & Listing)
  | { command: 'schedule pause'; name: string }
  | { command: 'schedule unpause'; name: string }
  | ({
      command: 'location create';
      name: string;
      bucket: string;
      prefix?: string;
      region?: string;
      endpoint?: string;
      forcePathStyle: boolean;
      caCertFile?: string;
      accessMode?: 'ReadWrite' | 'ReadOnly';
      syncPeriod?: string;
      credential: CredentialSource;
      credentialSecret: string;
      credentialKey: string;
      encryptionSecret?: { name: string; key: string };
    } & Wait)
  | ({ command: 'location get' } & Listing)
  | { command: 'admin nodes'; name?: string; output: OutputFormat }
  | { command: 'admin backups'; output: OutputFormat };

export type CommandName = Command['command'];

export type Invocation = Command & { connection: Connection };
