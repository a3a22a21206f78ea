import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from './secret.ts';

describe('Secret', () => {
  const s = new Secret('canary-0f7c');
  it('never shows its value in JSON, inspect or string form', () => {
    expect(JSON.stringify({ s })).not.toContain('canary');
    expect(inspect({ s }, { depth: 5 })).not.toContain('canary');
    expect(`${String(s)}`).not.toContain('canary');
  });
  it('gives its value to reveal()', () => {
    expect(s.reveal()).toBe('canary-0f7c');
  });
});
