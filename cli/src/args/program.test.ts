import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, type ParseResult } from './program.ts';
import type { Invocation } from './invocation.ts';

function run(...argv: string[]): Invocation {
  const r = parseCommandLine(argv);
  if (r.kind !== 'run') throw new Error(`expected a command, got exit ${r.code}: ${r.stderr}`);
  return r.invocation;
}

function exit(...argv: string[]): Extract<ParseResult, { kind: 'exit' }> {
  const r = parseCommandLine(argv);
  if (r.kind !== 'exit') throw new Error(`expected an exit, got ${JSON.stringify(r.invocation)}`);
  return r;
}

describe('global options, as kubectl takes them', () => {
  it('-n, --kubeconfig and --context are accepted before and after the command', () => {
    expect(run('-n', 'team-a', 'backup', 'get').connection).toEqual({ namespace: 'team-a' });
    expect(run('backup', 'get', '--namespace', 'team-a', '--context', 'dev', '--kubeconfig', '/k').connection).toEqual({ namespace: 'team-a', context: 'dev', kubeconfig: '/k' });
    expect(run('backup', 'describe', 'b1', '--namespace=team-b').connection).toEqual({ namespace: 'team-b' });
  });

  it('without -n the namespace is left to the kubeconfig', () => {
    expect(run('backup', 'get').connection).toEqual({});
  });

  it('a namespace that is not a name is a usage error', () => {
    const r = exit('-n', 'Team A', 'backup', 'get');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: Usage: .*"Team A" is not a valid name/);
  });
});

describe('backup', () => {
  it('create takes the name, the selection, --wait and --timeout', () => {
    expect(run('backup', 'create', 'nightly-1', '--location', 'main', '--include-volumes', 'data,logs', '--include-volumes', 'db', '-l', 'app=db', '--ttl', '72h', '--wait', '--timeout', '10m')).toEqual({
      command: 'backup create',
      name: 'nightly-1',
      location: 'main',
      includeVolumes: ['data', 'logs', 'db'],
      selector: { matchLabels: { app: 'db' } },
      ttl: '72h',
      wait: true,
      timeoutMs: 600_000,
      connection: {},
    });
  });

  it('create without a location leaves the choice to the command (the only one of the namespace)', () => {
    expect(run('backup', 'create', 'b')).toEqual({ command: 'backup create', name: 'b', wait: false, connection: {} });
  });

  it('include and exclude together, a bad ttl, --timeout without --wait are usage errors naming the problem', () => {
    expect(exit('backup', 'create', 'b', '--include-volumes', 'a', '--exclude-volumes', 'b').stderr).toMatch(/--include-volumes and --exclude-volumes cannot be combined/);
    expect(exit('backup', 'create', 'b', '--ttl', '3 days').stderr).toMatch(/"3 days" is not a positive duration/);
    expect(exit('backup', 'create', 'b', '--ttl', '3d').code).toBe(2);
    expect(exit('backup', 'create', 'b', '--timeout', '5m').stderr).toMatch(/--timeout applies only with --wait/);
  });

  it('get takes an optional name, -o and -A', () => {
    expect(run('backup', 'get')).toEqual({ command: 'backup get', allNamespaces: false, output: 'table', connection: {} });
    expect(run('backup', 'get', 'b1', '-o', 'yaml')).toEqual({ command: 'backup get', name: 'b1', allNamespaces: false, output: 'yaml', connection: {} });
    expect(run('backup', 'get', '-A', '-o', 'wide')).toMatchObject({ allNamespaces: true, output: 'wide' });
  });

  it('an output format that does not exist is a usage error listing the formats', () => {
    const r = exit('backup', 'get', '-o', 'xml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are table, wide, json, yaml, name/);
  });

  it('describe and delete need the name', () => {
    expect(run('backup', 'describe', 'b1')).toEqual({ command: 'backup describe', name: 'b1', connection: {} });
    expect(run('backup', 'delete', 'b1', '--wait')).toEqual({ command: 'backup delete', name: 'b1', wait: true, connection: {} });
    const r = exit('backup', 'delete');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: Usage: missing required argument 'name'\n  (see kubectl cairn backup delete --help)\n");
  });
});

describe('restore', () => {
  it('create takes targets, volumes and paths; the name may be left out', () => {
    expect(run('restore', 'create', '--from-backup', 'b1', '--target', 'data=data-copy', '--target', 'db=db2', '--include-volumes', 'data,db', '--path', 'etc', '--path', 'var/lib')).toEqual({
      command: 'restore create',
      backup: 'b1',
      includeVolumes: ['data', 'db'],
      targets: [{ volume: 'data', pvc: 'data-copy' }, { volume: 'db', pvc: 'db2' }],
      paths: ['etc', 'var/lib'],
      wait: false,
      connection: {},
    });
    expect(run('restore', 'create', 'r1', '--from-backup', 'b1')).toMatchObject({ name: 'r1', backup: 'b1' });
  });

  it('--from-backup is required; a target that is not VOLUME=PVC, or two targets for one volume or PVC, are refused', () => {
    expect(exit('restore', 'create').stderr).toMatch(/required option '--from-backup <backup>' not specified/);
    expect(exit('restore', 'create', '--from-backup', 'b', '--target', 'data').stderr).toMatch(/"data" is not VOLUME=PVC/);
    expect(exit('restore', 'create', '--from-backup', 'b', '--target', 'a=x', '--target', 'a=y').stderr).toMatch(/volume a is given two targets/);
    expect(exit('restore', 'create', '--from-backup', 'b', '--target', 'a=x', '--target', 'b=x').stderr).toMatch(/PVC x is the target of two volumes/);
  });
});

describe('schedule', () => {
  it('create builds the template from the same flags as backup create, with retention', () => {
    expect(run('schedule', 'create', 'nightly', '--schedule', '0 2 * * *', '--time-zone', 'Europe/Berlin', '--keep-last', '3', '--keep-daily', '7', '--exclude-volumes', 'cache', '--missed-run-policy', 'Skip', '--paused')).toEqual({
      command: 'schedule create',
      name: 'nightly',
      schedule: '0 2 * * *',
      timeZone: 'Europe/Berlin',
      paused: true,
      missedRunPolicy: 'Skip',
      retention: { keepLast: 3, keepDaily: 7 },
      excludeVolumes: ['cache'],
      connection: {},
    });
  });

  it('retention with a ttl, a negative count and a missing --schedule are refused', () => {
    expect(exit('schedule', 'create', 's', '--schedule', '@daily', '--keep-last', '3', '--ttl', '24h').stderr).toMatch(/--ttl and --keep-\* cannot be combined/);
    expect(exit('schedule', 'create', 's', '--schedule', '@daily', '--keep-last', '-1').code).toBe(2);
    expect(exit('schedule', 'create', 's').stderr).toMatch(/required option '--schedule <cron>'/);
  });

  it('pause and unpause take the name', () => {
    expect(run('schedule', 'pause', 's')).toEqual({ command: 'schedule pause', name: 's', connection: {} });
    expect(run('schedule', 'unpause', 's')).toEqual({ command: 'schedule unpause', name: 's', connection: {} });
  });
});

describe('location create', () => {
  const base = ['location', 'create', 'main', '--bucket', 'b'];

  it('keys from flags are held as a Secret that prints as [redacted]', () => {
    const inv = run(...base, '--access-key-id', 'AKIA1', '--secret-access-key', 'sekrit-canary', '--session-token', 'tok-canary');
    expect(inv).toMatchObject({ credential: { from: 'keys', accessKeyId: 'AKIA1' }, credentialSecret: 'main-credentials', credentialKey: 'cloud' });
    expect(JSON.stringify(inv)).not.toMatch(/canary/);
    expect(inspect(inv, { depth: 10 })).not.toMatch(/canary/);
  });

  it('"-" reads the secret key from standard input', () => {
    expect(run(...base, '--access-key-id', 'AKIA1', '--secret-access-key', '-')).toMatchObject({ credential: { from: 'keys', secretAccessKey: 'stdin' } });
  });

  it('a credentials file, or nothing (an existing Secret), are the other sources', () => {
    expect(run(...base, '--credentials-file', '/tmp/creds')).toMatchObject({ credential: { from: 'file', path: '/tmp/creds' } });
    expect(run(...base, '--credential-secret', 's3', '--credential-key', 'aws')).toMatchObject({ credential: { from: 'existing' }, credentialSecret: 's3', credentialKey: 'aws' });
  });

  it('keys and a file together, or a key id without its secret, are usage errors', () => {
    expect(exit(...base, '--access-key-id', 'A', '--secret-access-key', 'S', '--credentials-file', 'f').stderr).toMatch(/either as --access-key-id\/--secret-access-key or as --credentials-file/);
    expect(exit(...base, '--access-key-id', 'A').stderr).toMatch(/--access-key-id and --secret-access-key go together/);
  });

  it('a usage error never repeats the secret key', () => {
    const r = exit(...base, '--secret-access-key', 'sekrit-canary', '--credentials-file', 'f');
    expect(r.stderr).not.toMatch(/canary/);
  });

  it('takes the location fields', () => {
    expect(run(...base, '--prefix', 'team-a/c1', '--region', 'eu-central-1', '--endpoint', 'https://s3.example.com', '--force-path-style', '--access-mode', 'ReadOnly', '--sync-period', '0s', '--encryption-secret', 'key', '--ca-cert-file', '/ca.pem', '--wait')).toMatchObject({
      prefix: 'team-a/c1',
      region: 'eu-central-1',
      endpoint: 'https://s3.example.com',
      forcePathStyle: true,
      accessMode: 'ReadOnly',
      syncPeriod: '0s',
      encryptionSecret: { name: 'key', key: 'key' },
      caCertFile: '/ca.pem',
      wait: true,
    });
    expect(exit(...base, '--access-mode', 'WriteOnly').stderr).toMatch(/Allowed choices are ReadWrite, ReadOnly/);
  });
});

describe('admin', () => {
  it('nodes and backups take -o', () => {
    expect(run('admin', 'nodes')).toEqual({ command: 'admin nodes', output: 'table', connection: {} });
    expect(run('admin', 'nodes', 'node-1', '-o', 'json')).toEqual({ command: 'admin nodes', name: 'node-1', output: 'json', connection: {} });
    expect(run('admin', 'backups', '-o', 'wide')).toEqual({ command: 'admin backups', output: 'wide', connection: {} });
  });
});

describe('help, version and mistakes', () => {
  it('--help prints to stdout and exits 0', () => {
    const r = exit('backup', 'create', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kubectl-cairn backup create \[options\] <name>/);
    expect(r.stdout).toMatch(/--wait/);
  });

  it('--version prints the version', () => {
    expect(exit('--version')).toEqual({ kind: 'exit', code: 0, stdout: '0.1.0\n', stderr: '' });
  });

  it('no command, or a group without its subcommand, prints the help on stderr and exits 2', () => {
    expect(exit()).toMatchObject({ code: 2, stdout: '' });
    expect(exit().stderr).toMatch(/^Usage: kubectl-cairn /);
    expect(exit('backup').stderr).toMatch(/^Usage: kubectl-cairn backup /);
    expect(exit('backup').code).toBe(2);
  });

  it('an unknown command or option is exit 2 with a suggestion', () => {
    const r = exit('backup', 'creat', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: Usage: unknown command 'creat' (Did you mean create?)\n  (see kubectl cairn backup --help)\n");
    expect(exit('backup', 'get', '--al').stderr).toMatch(/^error: Usage: unknown option '--al'/);
  });
});
