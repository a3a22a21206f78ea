// The command line of kubectl-cairn, with commander: every command, its arguments and options,
// and its help. Parsing only: `parseCommandLine` returns what to do (an Invocation) or what to
// print and the exit code (help, version, usage errors); nothing here talks to the cluster.
import { Command as Program, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { LabelSelector } from '../../../common/src/crds.ts';
import { Secret } from '../../../common/src/secret.ts';
import { exitCodes } from '../exit.ts';
import { outputFormats, type BackupSelection, type Command, type CredentialSource, type Invocation, type Listing, type OutputFormat, type Retention, type Wait } from './invocation.ts';
import { collect, count, goDuration, nameList, objectName, selector, target, timeoutMs, type Target } from './values.ts';
import { parseGoDuration } from '../../../coordinator/src/config.ts';

export const version = '0.1.0';

export type ParseResult =
  | { kind: 'run'; invocation: Invocation }
  | { kind: 'exit'; code: number; stdout: string; stderr: string };

type Opts = Record<string, unknown>;

const secretKeyPattern = /^[-._a-zA-Z0-9]{1,253}$/;

function secretKey(value: string): string {
  if (!secretKeyPattern.test(value)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a Secret key: letters, digits, '-', '_' and '.', at most 253 characters`);
  return value;
}

function syncPeriod(value: string): string {
  const ms = parseGoDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a duration such as 1m or 1h (0s turns syncing off)`);
  return value;
}

const outputOption = (): Option =>
  new Option('-o, --output <format>', 'output format').choices(outputFormats).default('table');

function listingOf(name: string | undefined, o: Opts): Listing {
  return { ...(name === undefined ? {} : { name }), allNamespaces: o.allNamespaces === true, output: o.output as OutputFormat };
}

function waitOf(o: Opts): Wait {
  if (o.timeout !== undefined && o.wait !== true) throw new InvalidArgumentError('--timeout applies only with --wait');
  return { wait: o.wait === true, ...(o.timeout === undefined ? {} : { timeoutMs: o.timeout as number }) };
}

function selectionOf(o: Opts): BackupSelection {
  if (o.includeVolumes && o.excludeVolumes) throw new InvalidArgumentError('--include-volumes and --exclude-volumes cannot be combined: one names the volumes to back up, the other those to skip');
  const s: BackupSelection = {};
  if (o.location !== undefined) s.location = o.location as string;
  if (o.includeVolumes !== undefined) s.includeVolumes = o.includeVolumes as string[];
  if (o.excludeVolumes !== undefined) s.excludeVolumes = o.excludeVolumes as string[];
  if (o.selector !== undefined) s.selector = o.selector as LabelSelector;
  if (o.ttl !== undefined) s.ttl = o.ttl as string;
  return s;
}

function credentialOf(o: Opts): CredentialSource {
  const keys = o.accessKeyId !== undefined || o.secretAccessKey !== undefined || o.sessionToken !== undefined;
  if (keys && o.credentialsFile !== undefined) throw new InvalidArgumentError('give the credentials either as --access-key-id/--secret-access-key or as --credentials-file, not both');
  if (o.credentialsFile !== undefined) return { from: 'file', path: o.credentialsFile as string };
  if (!keys) return { from: 'existing' };
  if (o.accessKeyId === undefined || o.secretAccessKey === undefined) throw new InvalidArgumentError('--access-key-id and --secret-access-key go together');
  const secret = o.secretAccessKey as string;
  return {
    from: 'keys',
    accessKeyId: o.accessKeyId as string,
    secretAccessKey: secret === '-' ? 'stdin' : new Secret(secret),
    ...(o.sessionToken === undefined ? {} : { sessionToken: new Secret(o.sessionToken as string) }),
  };
}

function addWait(c: Program, what: string): Program {
  return c
    .option('-w, --wait', `follow ${what} with a progress bar until it ends; exit 0 only when it Completed`)
    .option('--timeout <duration>', 'with --wait: give up after this long (exit 6), e.g. 30m', timeoutMs);
}

function addSelection(c: Program): Program {
  return c
    .option('--include-volumes <pvcs>', 'back up only these PVCs (comma-separated, repeatable)', nameList)
    .option('--exclude-volumes <pvcs>', 'do not back up these PVCs (comma-separated, repeatable)', nameList)
    .option('-l, --selector <selector>', 'only volumes mounted by pods matching this label selector (k=v, k!=v, k in (a,b), k, !k)', selector)
    .option('--ttl <duration>', 'how long to keep the backup, e.g. 720h (default: the coordinator\'s)', goDuration);
}

/** Builds the program; each command's action hands its Invocation to `run`. */
export function buildProgram(run: (c: Command, cmd: Program) => void, io: { out: (s: string) => void; err: (s: string) => void }): Program {
  const program = new Program('kubectl-cairn');
  program
    .description('Back up and restore the volumes of a Kubernetes namespace with Cairn (cairn.dev).\nUses the current kubeconfig, context and namespace, as kubectl does.')
    .version(version, '--version', 'print the version')
    .option('-n, --namespace <namespace>', 'the namespace (default: the context\'s, else "default")', objectName)
    .option('--kubeconfig <path>', 'the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context to use')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .showSuggestionAfterError(true)
    .helpCommand(false)
    .addHelpText('after', '\nExit codes: 0 ok, 1 failed or partially failed, 2 usage, 3 API error or forbidden, 4 not found,\n5 already exists, 6 timeout, 70 internal error, 130 interrupted. See docs/cli.md.');

  // backup
  const backup = program.command('backup').helpCommand(false).description('create, list, describe and delete Backups');
  addWait(addSelection(backup.command('create').description('create a Backup of the namespace\'s volumes')
    .argument('<name>', 'name of the Backup', objectName)
    .option('--location <name>', 'the BackupStorageLocation to write to (default: the only one of the namespace)', objectName)), 'the backup')
    .action((name: string, o: Opts) => run({ command: 'backup create', name, ...selectionOf(o), ...waitOf(o) }, backup));
  backup.command('get').description('list Backups, or show one')
    .argument('[name]', 'one Backup', objectName)
    .addOption(outputOption())
    .option('-A, --all-namespaces', 'Backups of every namespace (needs a cluster-wide role)')
    .action((name: string | undefined, o: Opts) => run({ command: 'backup get', ...listingOf(name, o) }, backup));
  backup.command('describe').description('show a Backup with each volume\'s phase, progress and errors')
    .argument('<name>', 'the Backup', objectName)
    .action((name: string) => run({ command: 'backup describe', name }, backup));
  addWait(backup.command('delete').description('delete a Backup and its data in the bucket (creates a DeleteBackupRequest)')
    .argument('<name>', 'the Backup', objectName), 'the deletion')
    .action((name: string, o: Opts) => run({ command: 'backup delete', name, ...waitOf(o) }, backup));

  // restore
  const restore = program.command('restore').helpCommand(false).description('create, list and describe Restores');
  addWait(restore.command('create').description('restore the volumes of a Backup into PVCs of the namespace')
    .argument('[name]', 'name of the Restore (default: <backup>-<yyyymmddhhmmss>)', objectName)
    .requiredOption('--from-backup <backup>', 'the Backup to restore', objectName)
    .option('--include-volumes <pvcs>', 'restore only these volumes, by source PVC name (comma-separated, repeatable)', nameList)
    .option('--target <volume=pvc>', 'restore VOLUME (its source PVC name) into PVC, created when absent (repeatable)', target)
    .option('--path <path>', 'restore only this file or directory, relative to the volume root (repeatable)', collect), 'the restore')
    .action((name: string | undefined, o: Opts) => {
      const c: Command = { command: 'restore create', backup: o.fromBackup as string, ...waitOf(o) };
      if (name !== undefined) c.name = name;
      if (o.includeVolumes) c.includeVolumes = o.includeVolumes as string[];
      if (o.target) c.targets = o.target as Target[];
      if (o.path) c.paths = o.path as string[];
      run(c, restore);
    });
  restore.command('get').description('list Restores, or show one')
    .argument('[name]', 'one Restore', objectName)
    .addOption(outputOption())
    .option('-A, --all-namespaces', 'Restores of every namespace (needs a cluster-wide role)')
    .action((name: string | undefined, o: Opts) => run({ command: 'restore get', ...listingOf(name, o) }, restore));
  restore.command('describe').description('show a Restore with each volume\'s phase, progress and errors')
    .argument('<name>', 'the Restore', objectName)
    .action((name: string) => run({ command: 'restore describe', name }, restore));

  // schedule
  const schedule = program.command('schedule').helpCommand(false).description('create, list, pause and unpause Schedules');
  const keep = count(10_000);
  addSelection(schedule.command('create').description('create a Schedule that backs up the namespace at the times a cron expression names')
    .argument('<name>', 'name of the Schedule', objectName)
    .requiredOption('--schedule <cron>', 'five-field cron expression ("0 2 * * *") or @daily, @hourly, ...')
    .option('--location <name>', 'the BackupStorageLocation (default: the only one of the namespace)', objectName)
    .option('--time-zone <zone>', 'IANA time zone the schedule is read in (default UTC)')
    .option('--paused', 'create it paused')
    .addOption(new Option('--missed-run-policy <policy>', 'after missed runs: RunLatest or Skip').choices(['RunLatest', 'Skip']))
    .option('--keep-last <n>', 'retention: keep the newest n backups', keep)
    .option('--keep-hourly <n>', 'retention: keep the newest of each of the last n hours', keep)
    .option('--keep-daily <n>', 'retention: keep the newest of each of the last n days', keep)
    .option('--keep-weekly <n>', 'retention: keep the newest of each of the last n weeks', keep)
    .option('--keep-monthly <n>', 'retention: keep the newest of each of the last n months', keep))
    .action((name: string, o: Opts) => {
      const retention: Retention = {};
      for (const k of ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly'] as const) if (o[k] !== undefined) retention[k] = o[k] as number;
      const hasRetention = Object.keys(retention).length > 0;
      if (hasRetention && o.ttl !== undefined) throw new InvalidArgumentError('--ttl and --keep-* cannot be combined: with retention, the Schedule decides when its backups go');
      const c: Command = { command: 'schedule create', name, schedule: o.schedule as string, paused: o.paused === true, ...selectionOf(o) };
      if (o.timeZone !== undefined) c.timeZone = o.timeZone as string;
      if (o.missedRunPolicy !== undefined) c.missedRunPolicy = o.missedRunPolicy as 'RunLatest' | 'Skip';
      if (hasRetention) c.retention = retention;
      run(c, schedule);
    });
  schedule.command('get').description('list Schedules, or show one')
    .argument('[name]', 'one Schedule', objectName)
    .addOption(outputOption())
    .option('-A, --all-namespaces', 'Schedules of every namespace (needs a cluster-wide role)')
    .action((name: string | undefined, o: Opts) => run({ command: 'schedule get', ...listingOf(name, o) }, schedule));
  schedule.command('pause').description('stop creating Backups (retention still applies)')
    .argument('<name>', 'the Schedule', objectName)
    .action((name: string) => run({ command: 'schedule pause', name }, schedule));
  schedule.command('unpause').description('create Backups again')
    .argument('<name>', 'the Schedule', objectName)
    .action((name: string) => run({ command: 'schedule unpause', name }, schedule));

  // location
  const location = program.command('location').helpCommand(false).description('create and list BackupStorageLocations');
  addWait(location.command('create').description('create a BackupStorageLocation, and the Secret with its credentials (needs the namespace\'s admin role)')
    .argument('<name>', 'name of the location', objectName)
    .requiredOption('--bucket <bucket>', 'the bucket')
    .option('--prefix <path>', 'path inside the bucket, e.g. team-a/cluster-1')
    .option('--region <region>', 'the bucket\'s region')
    .option('--endpoint <url>', 'S3 endpoint when not AWS, e.g. https://minio.example.com:9000')
    .option('--force-path-style', 'address the bucket as endpoint/bucket (MinIO and most non-AWS stores)')
    .option('--ca-cert-file <path>', 'PEM file of the CA(s) to trust for the endpoint')
    .addOption(new Option('--access-mode <mode>', 'ReadWrite, or ReadOnly to only restore from it').choices(['ReadWrite', 'ReadOnly']))
    .option('--sync-period <duration>', 'how often to list the bucket for backups, e.g. 1m (0s: never)', syncPeriod)
    .option('--access-key-id <id>', 'S3 access key id, to create the credential Secret')
    .option('--secret-access-key <key>', 'S3 secret access key; "-" reads it from standard input')
    .option('--session-token <token>', 'S3 session token, for temporary credentials')
    .option('--credentials-file <path>', 'an AWS shared-credentials file ([default] profile), to create the credential Secret')
    .option('--credential-secret <name>', 'the credential Secret (default: <name>-credentials); without credentials flags it must exist', objectName)
    .option('--credential-key <key>', 'the key in the credential Secret', secretKey, 'cloud')
    .option('--encryption-secret <name>', 'encrypt with the 32-byte key in this existing Secret', objectName)
    .option('--encryption-key <key>', 'the key in the encryption Secret', secretKey, 'key'), 'the location\'s validation')
    .action((name: string, o: Opts) => {
      const c: Command = {
        command: 'location create',
        name,
        bucket: o.bucket as string,
        forcePathStyle: o.forcePathStyle === true,
        credential: credentialOf(o),
        credentialSecret: (o.credentialSecret as string | undefined) ?? `${name}-credentials`,
        credentialKey: o.credentialKey as string,
        ...waitOf(o),
      };
      if (o.credentialSecret === undefined) objectName(c.credentialSecret);
      for (const k of ['prefix', 'region', 'endpoint', 'caCertFile', 'syncPeriod'] as const) if (o[k] !== undefined) c[k] = o[k] as string;
      if (o.accessMode !== undefined) c.accessMode = o.accessMode as 'ReadWrite' | 'ReadOnly';
      if (o.encryptionSecret !== undefined) c.encryptionSecret = { name: o.encryptionSecret as string, key: o.encryptionKey as string };
      run(c, location);
    });
  location.command('get').description('list BackupStorageLocations, or show one')
    .argument('[name]', 'one location', objectName)
    .addOption(outputOption())
    .option('-A, --all-namespaces', 'locations of every namespace (needs a cluster-wide role)')
    .action((name: string | undefined, o: Opts) => run({ command: 'location get', ...listingOf(name, o) }, location));

  // admin
  const admin = program.command('admin').helpCommand(false).description('cluster-wide views for cluster admins');
  admin.command('nodes').description('the Cairn agent of each node (NodeAgents): ready, jobs, throughput, free space')
    .argument('[name]', 'one node', objectName)
    .addOption(outputOption())
    .action((name: string | undefined, o: Opts) => run({ command: 'admin nodes', ...(name === undefined ? {} : { name }), output: o.output as OutputFormat }, admin));
  admin.command('backups').description('Backups of every namespace')
    .addOption(outputOption())
    .action((o: Opts) => run({ command: 'admin backups', output: o.output as OutputFormat }, admin));

  return program;
}

/** Parses `argv` (the arguments after the program name). */
export function parseCommandLine(argv: readonly string[]): ParseResult {
  let stdout = '';
  let stderr = '';
  let found: Invocation | undefined;
  const program = buildProgram(
    (c, cmd) => {
      const g = cmd.optsWithGlobals<{ namespace?: string; kubeconfig?: string; context?: string }>();
      const connection: Invocation['connection'] = {};
      if (g.namespace !== undefined) connection.namespace = g.namespace;
      if (g.kubeconfig !== undefined) connection.kubeconfig = g.kubeconfig;
      if (g.context !== undefined) connection.context = g.context;
      found = { ...c, connection };
    },
    { out: (s) => (stdout += s), err: (s) => (stderr += s) },
  );
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return { kind: 'exit', code: exitCodes.ok, stdout, stderr };
      // A command group without its subcommand (`kubectl cairn backup`) shows its help as an error.
      if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') return { kind: 'exit', code: exitCodes.usage, stdout: '', stderr: stdout + stderr };
      const message = err.message
        .replace(/^error: /, '')
        .replace(/\n\((Did you mean [^)]*)\)/, ' ($1)')
        // commander: "command-argument value 'X' is invalid for argument 'name'. <why>" -> "<name>: <why>"
        .replace(/^command-argument value '.*' is invalid for argument '(.*)'\. /s, '<$1>: ')
        .replace(/^option '(-\S+, )?(--[^ ']+)[^']*' argument '.*' is invalid\. /s, '$2: ');
      return { kind: 'exit', code: exitCodes.usage, stdout, stderr: `${stderr}error: Usage: ${message}\n  (see kubectl cairn ${commandPath(argv)}--help)\n` };
    }
    throw err;
  }
  if (!found) return { kind: 'exit', code: exitCodes.usage, stdout: '', stderr: program.helpInformation() };
  return { kind: 'run', invocation: found };
}

/** The command words of argv (`backup create `), for the help hint. */
function commandPath(argv: readonly string[]): string {
  const groups: Record<string, string[]> = {
    backup: ['create', 'get', 'describe', 'delete'],
    restore: ['create', 'get', 'describe'],
    schedule: ['create', 'get', 'pause', 'unpause'],
    location: ['create', 'get'],
    admin: ['nodes', 'backups'],
  };
  const words = argv.filter((a) => !a.startsWith('-'));
  const group = words.find((w) => w in groups);
  if (!group) return '';
  const sub = words[words.indexOf(group) + 1];
  return sub !== undefined && groups[group]!.includes(sub) ? `${group} ${sub} ` : `${group} `;
}
