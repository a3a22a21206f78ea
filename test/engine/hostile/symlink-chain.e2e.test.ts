// Regression for a finding: a symlink whose target goes through another symlink of the archive
// and then "..", e.g. a/up -> .. and a/esc -> up/../outside/canary, passed the lexical check
// (up/.. looked like a step down and back) but resolved outside the target.
import { realpath, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { forged } from './archive-builder.ts';
import { hostileSuite } from './sandbox.ts';

const { run, refusedCleanly } = hostileSuite(inject('cluster'));

describe('symlink chains', () => {
  it('refuses a symlink that leaves the volume through another symlink (a/up -> .., a/esc -> up/../outside/canary)', async () => {
    await refusedCleanly(forged().root().dir('a').symlink('a/esc', 'up/../outside/canary').symlink('a/up', '..'), 'CAIRN_E_HOSTILE_ARCHIVE', 'a/esc', 'leaves the volume');
  });

  it('refuses a top-level link through it (a/up -> .., z -> a/up/..)', async () => {
    await refusedCleanly(forged().root().dir('a').symlink('a/up', '..').symlink('z', 'a/up/..'), 'CAIRN_E_HOSTILE_ARCHIVE', '"z"', 'leaves the volume');
  });

  it('benign twin: the same links with ".." only at the start restore as links', async () => {
    const r = await run(forged().root().dir('a').symlink('a/esc', '../outside-not/canary').symlink('a/up', '..'));
    await r.restored;
    expect(await readlink(join(r.box.target, 'a/esc'))).toBe('../outside-not/canary');
    expect(await realpath(join(r.box.target, 'a/up'))).toBe(await realpath(r.box.target));
  });
});
