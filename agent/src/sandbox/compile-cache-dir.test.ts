// The agent's --compile-cache-dir (agent/src/config.ts): a folder the agent empties at start, so
// only an absolute, normalised path below a top-level folder is taken.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.ts';

const base = ['--node-name', 'node-1', '--listen', '10.0.0.1:9443', '--tls-ca', 'ca', '--tls-cert', 'crt', '--tls-key', 'key'];

describe('--compile-cache-dir', () => {
  it('is unset by default (a temporary folder per agent), and comes from the flag or CAIRN_COMPILE_CACHE_DIR', () => {
    expect(parseConfig(base, {}).compileCacheDir).toBeUndefined();
    expect(parseConfig([...base, '--compile-cache-dir', '/tmp/compile-cache/'], {}).compileCacheDir).toBe('/tmp/compile-cache');
    expect(parseConfig(base, { CAIRN_COMPILE_CACHE_DIR: '/var/cache/cairn' }).compileCacheDir).toBe('/var/cache/cairn');
  });

  it.each(['tmp/cache', '/', '/tmp', '/tmp/../etc', '/tmp//cache'])('refuses %s, naming the flag', (dir) => {
    expect(() => parseConfig([...base, '--compile-cache-dir', dir], {})).toThrow(/--compile-cache-dir must be an absolute, normalised path at least two levels deep/);
  });
});
