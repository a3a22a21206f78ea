import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from './connect.ts';

const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-kubeconfig-'));
const file = join(dir, 'config');
writeFileSync(file, stringify({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443' } }],
  users: [{ name: 'alice', user: { token: 't' } }],
  contexts: [{ name: 'dev', context: { cluster: 'c', user: 'alice', namespace: 'team-a' } }, { name: 'bare', context: { cluster: 'c', user: 'alice' } }],
  'current-context': 'dev',
}));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('connect', () => {
  it('takes the namespace from -n, else the context, else "default"', () => {
    expect(connect({ kubeconfig: file }).namespace).toBe('team-a');
    expect(connect({ kubeconfig: file, namespace: 'team-b' }).namespace).toBe('team-b');
    expect(connect({ kubeconfig: file, context: 'bare' }).namespace).toBe('default');
  });

  it('an unknown context or a missing file is a usage error (exit 2) saying what there is', () => {
    expect(() => connect({ kubeconfig: file, context: 'prod' })).toThrow(expect.objectContaining({ reason: 'Usage', message: '--context prod: no such context in the kubeconfig (it has dev, bare)' }) as Error);
    expect(() => connect({ kubeconfig: join(dir, 'nope') })).toThrow(expect.objectContaining({ exitCode: 2 }) as Error);
  });
});
