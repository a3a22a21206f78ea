// Every error code of the registry is explained in docs/operations.md, and nothing there is a
// code that does not exist: the table and the code cannot drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../../common/src/errors.ts';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'operations.md'), 'utf8');

describe('docs/operations.md error codes', () => {
  it('explains every code of common/src/errors.ts in its table, and no other', () => {
    const rows = [...doc.matchAll(/^\| `(CAIRN_E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual(Object.keys(errorCodes).sort());
  });
});
