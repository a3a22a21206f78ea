// Checks of the CRD YAML in manifests/crds/ that need no API server (test/ applies them to a
// real one), and of the helpers in crds.ts that sit on top of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  API_VERSION,
  BACKUP_PHASES,
  DELETE_BACKUP_REQUEST_PHASES,
  GROUP,
  PLURALS,
  RESTORE_PHASES,
  VERSION,
  isBackupFinal,
  isBackupPhase,
  isDeleteBackupRequestFinal,
  isNamespaced,
  isRestoreFinal,
  type CairnKind,
} from './crds.ts';

type Schema = { [key: string]: unknown };

interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

interface Crd {
  file: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: { kind: CairnKind; plural: string; singular: string; listKind: string; shortNames?: string[]; categories?: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const crdDir = fileURLToPath(new URL('../../manifests/crds/', import.meta.url));
const crds: Crd[] = readdirSync(crdDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .sort()
  .map((file) => ({ file, ...(parse(readFileSync(join(crdDir, file), 'utf8')) as Omit<Crd, 'file'>) }));

function crd(kind: CairnKind): Crd {
  const found = crds.find((c) => c.spec.names.kind === kind);
  if (found === undefined) throw new Error(`no CRD for ${kind}`);
  return found;
}

function rootSchema(kind: CairnKind): Schema {
  return crd(kind).spec.versions[0]!.schema.openAPIV3Schema;
}

// Every schema node under `s` with its path (`a.b`, `a[]` for items, `a{}` for map values).
function* walk(s: Schema, path: string): Generator<[string, Schema]> {
  yield [path, s];
  const props = s.properties as Record<string, Schema> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) yield* walk(v, path === '' ? k : `${path}.${k}`);
  if (s.items !== undefined) yield* walk(s.items as Schema, `${path}[]`);
  if (typeof s.additionalProperties === 'object') yield* walk(s.additionalProperties as Schema, `${path}{}`);
}

function at(kind: CairnKind, path: string): Schema {
  for (const [p, s] of walk(rootSchema(kind), '')) if (p === path) return s;
  throw new Error(`${kind} has no schema at ${path}`);
}

function rulesOf(s: Schema): Rule[] {
  return (s['x-kubernetes-validations'] as Rule[] | undefined) ?? [];
}

// The regular expression of a field's `self.matches('...')` rule. RE2 (the API server's) and
// JavaScript agree on the subset used here; `u` makes 'µ' one character, as in RE2.
function matcherOf(kind: CairnKind, path: string): RegExp {
  const sources = rulesOf(at(kind, path)).flatMap((r) => [...r.rule.matchAll(/self\.matches\('([^']*)'\)/g)].map((m) => m[1]!));
  expect(sources, `${kind} ${path} has one matches() rule`).toHaveLength(1);
  return new RegExp(sources[0]!, 'u');
}

const kinds: CairnKind[] = ['BackupStorageLocation', 'Backup', 'Restore', 'Schedule', 'DeleteBackupRequest', 'NodeAgent'];

describe('CRD YAML', () => {
  it('has one CRD per kind, group cairn.dev, one served storage version v1alpha1', () => {
    expect(crds.map((c) => c.spec.names.kind).sort()).toEqual([...kinds].sort());
    for (const c of crds) {
      expect(c.spec.group).toBe(GROUP);
      expect(c.metadata.name).toBe(`${c.spec.names.plural}.${GROUP}`);
      expect(c.spec.names.listKind).toBe(`${c.spec.names.kind}List`);
      expect(c.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[VERSION, true, true]]);
    }
  });

  it('agrees with the plurals and scopes in crds.ts', () => {
    for (const kind of kinds) {
      expect(crd(kind).spec.names.plural).toBe(PLURALS[kind]);
      expect(crd(kind).spec.scope).toBe(isNamespaced(kind) ? 'Namespaced' : 'Cluster');
    }
    expect(API_VERSION).toBe('cairn.dev/v1alpha1');
  });

  it('is structural: every node has a type and no node keeps unknown fields', () => {
    for (const kind of kinds) {
      for (const [path, s] of walk(rootSchema(kind), '')) {
        expect(s.type, `${kind} ${path || '<root>'} has a type`).toMatch(/^(object|array|string|integer|number|boolean)$/);
        expect(s, `${kind} ${path}`).not.toHaveProperty('x-kubernetes-preserve-unknown-fields');
        expect(s, `${kind} ${path}`).not.toHaveProperty('x-kubernetes-int-or-string');
        if (s.type === 'array') expect(s.items, `${kind} ${path} has items`).toBeDefined();
      }
    }
  });

  it('describes every field but metadata', () => {
    for (const kind of kinds) {
      for (const [path, s] of walk(rootSchema(kind), '')) {
        if (path === '' || path === 'metadata' || path.endsWith('[]') || path.endsWith('{}')) continue;
        expect(s.description, `${kind} ${path} has a description`).toEqual(expect.any(String));
      }
    }
  });

  it('has a status subresource on every kind', () => {
    for (const c of crds) expect(c.spec.versions[0]!.subresources?.status, c.file).toEqual({});
  });

  it('has an Age printer column on every kind, and Phase where there is one', () => {
    for (const c of crds) {
      const columns = c.spec.versions[0]!.additionalPrinterColumns ?? [];
      expect(columns, c.file).toContainEqual({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' });
      if (c.spec.names.kind !== 'NodeAgent') expect(columns.map((col) => col.jsonPath), c.file).toContain('.status.phase');
    }
    const bsl = crd('BackupStorageLocation').spec.versions[0]!.additionalPrinterColumns!.map((col) => col.name);
    expect(bsl).toEqual(expect.arrayContaining(['Phase', 'Bucket', 'AccessMode', 'Age']));
    const agent = crd('NodeAgent').spec.versions[0]!.additionalPrinterColumns!.map((col) => col.name);
    expect(agent).toEqual(expect.arrayContaining(['Ready', 'ActiveJobs', 'Age']));
  });

  it('has CEL rules that each carry a rule and a message, with valid fieldPath and reason', () => {
    let count = 0;
    for (const kind of kinds) {
      for (const [path, s] of walk(rootSchema(kind), '')) {
        for (const r of rulesOf(s)) {
          count++;
          expect(r.rule.trim(), `${kind} ${path}`).not.toBe('');
          expect((r.message ?? r.messageExpression ?? '').trim(), `${kind} ${path} rule ${r.rule}`).not.toBe('');
          if (r.fieldPath !== undefined) expect(r.fieldPath, `${kind} ${path}`).toMatch(/^(\.[A-Za-z][A-Za-z0-9]*)+$/);
          if (r.reason !== undefined) expect(['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate']).toContain(r.reason);
          // Balanced parentheses and quotes: a cheap guard against a truncated rule.
          expect(r.rule.split('(').length, `${kind} ${path} rule ${r.rule}`).toBe(r.rule.split(')').length);
          expect((r.rule.match(/'/g) ?? []).length % 2, `${kind} ${path} rule ${r.rule}`).toBe(0);
        }
      }
    }
    expect(count).toBeGreaterThan(20);
  });

  it('bounds every string and array a CEL rule works on, to keep the rule cost estimate low', () => {
    for (const kind of kinds) {
      for (const [path, s] of walk(rootSchema(kind), '')) {
        if (rulesOf(s).length === 0) continue;
        if (s.type === 'string') expect(s.maxLength, `${kind} ${path} maxLength`).toEqual(expect.any(Number));
        if (s.type === 'array') expect(s.maxItems, `${kind} ${path} maxItems`).toEqual(expect.any(Number));
        // An item rule runs once per item: its array must be bounded.
        if (path.endsWith('[]')) expect(at(kind, path.slice(0, -2)).maxItems, `${kind} ${path} parent maxItems`).toEqual(expect.any(Number));
      }
    }
  });

  it('makes the specs of Backup, Restore and DeleteBackupRequest immutable, and BSL objectStorage', () => {
    for (const [kind, path] of [['Backup', 'spec'], ['Restore', 'spec'], ['DeleteBackupRequest', 'spec'], ['BackupStorageLocation', 'spec.objectStorage']] as const) {
      expect(rulesOf(at(kind, path)).map((r) => r.rule), `${kind} ${path}`).toContain('self == oldSelf');
    }
    expect(rulesOf(at('Schedule', 'spec')).map((r) => r.rule)).not.toContain('self == oldSelf');
  });

  it('compiles every regular expression with JavaScript RegExp', () => {
    for (const kind of kinds) {
      for (const [path, s] of walk(rootSchema(kind), '')) {
        if (typeof s.pattern === 'string') expect(() => new RegExp(s.pattern as string, 'u'), `${kind} ${path}`).not.toThrow();
        for (const r of rulesOf(s)) {
          for (const m of r.rule.matchAll(/matches\('([^']*)'\)/g)) expect(() => new RegExp(m[1]!, 'u'), `${kind} ${path}`).not.toThrow();
        }
      }
    }
  });

  it('accepts Go durations and refuses anything else for ttl and syncPeriod', () => {
    for (const [kind, path] of [['Backup', 'spec.ttl'], ['Schedule', 'spec.template.ttl'], ['BackupStorageLocation', 'spec.syncPeriod']] as const) {
      const re = matcherOf(kind, path);
      for (const ok of ['720h', '1h30m', '90s', '1.5h', '0s', '250ms', '10us', '10µs', '2h45m30.5s']) expect(re.test(ok), `${path} ${ok}`).toBe(true);
      for (const bad of ['3 days', '720', 'h', '', '1d', '-1h', '1h ', ' 1h', '1.h', 'PT1H']) expect(re.test(bad), `${path} ${JSON.stringify(bad)}`).toBe(false);
    }
  });

  it('accepts DNS-1123 names and refuses others for every reference field', () => {
    const refs = [
      ['Backup', 'spec.storageLocation'],
      ['Schedule', 'spec.template.storageLocation'],
      ['Restore', 'spec.backupName'],
      ['Restore', 'spec.targets[].pvc'],
      ['DeleteBackupRequest', 'spec.backupName'],
      ['BackupStorageLocation', 'spec.credential.name'],
      ['BackupStorageLocation', 'spec.encryption.keySecret.name'],
    ] as const;
    for (const [kind, path] of refs) {
      const re = matcherOf(kind, path);
      for (const ok of ['team-a', 'a', 'a.b', '0day', 'backup-2024.01.01']) expect(re.test(ok), `${kind} ${path} ${ok}`).toBe(true);
      for (const bad of ['Team_A', 'team_a', '-a', 'a-', 'a..b', '.a', 'a/b', 'ns/name', '', 'a b']) expect(re.test(bad), `${kind} ${path} ${JSON.stringify(bad)}`).toBe(false);
    }
  });

  it('accepts Secret data keys and refuses others', () => {
    for (const path of ['spec.credential.key', 'spec.encryption.keySecret.key']) {
      const re = matcherOf('BackupStorageLocation', path);
      for (const ok of ['cloud', 'key.bin', '.dockerconfigjson', 'AWS_ACCESS-key']) expect(re.test(ok), ok).toBe(true);
      for (const bad of ['a/b', 'a b', '', 'ключ']) expect(re.test(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('refuses absolute and escaping restore paths', () => {
    const rule = rulesOf(at('Restore', 'spec.paths[]'))[0]!.rule;
    expect(rule).toContain("!self.startsWith('/')");
    const dots = new RegExp(/matches\('([^']*)'\)/.exec(rule)![1]!, 'u');
    for (const bad of ['..', 'a/..', '../a', 'a/../b', '.', './a', 'a/./b']) expect(dots.test(bad), bad).toBe(true);
    for (const ok of ['a', 'a/b', '.config', 'a/..b', '...']) expect(dots.test(ok), ok).toBe(false);
  });

  it('repeats Backup spec verbatim as Schedule spec.template, less the immutability rule', () => {
    const strip = (s: Schema): Schema => {
      const { description: _d, ...rest } = s;
      return { ...rest, 'x-kubernetes-validations': rulesOf(s).filter((r) => !r.rule.includes('oldSelf')) };
    };
    expect(strip(at('Schedule', 'spec.template'))).toEqual(strip(at('Backup', 'spec')));
  });

  it('uses one conditions schema (metav1.Condition) everywhere', () => {
    const withConditions = kinds.filter((k) => (at(k, 'status').properties as Schema).conditions !== undefined);
    expect(withConditions.sort()).toEqual(['Backup', 'BackupStorageLocation', 'Restore', 'Schedule']);
    const first = at('Backup', 'status.conditions');
    for (const k of withConditions) expect(isDeepStrictEqual(at(k, 'status.conditions'), first), k).toBe(true);
    expect(first['x-kubernetes-list-map-keys']).toEqual(['type']);
  });

  it('lists the phases of crds.ts in the CRD enums', () => {
    expect(at('Backup', 'status.phase').enum).toEqual([...BACKUP_PHASES]);
    expect(at('Restore', 'status.phase').enum).toEqual([...RESTORE_PHASES]);
    expect(at('DeleteBackupRequest', 'status.phase').enum).toEqual([...DELETE_BACKUP_REQUEST_PHASES]);
  });

  it('has unique short names, none of them Velero\'s or built-in, and the cairn category on tenant kinds', () => {
    const taken = ['bsl', 'vsl', 'po', 'pvc', 'pv', 'no', 'ns', 'cm', 'cs', 'csr', 'ds', 'ev', 'sa', 'sc', 'svc', 'sts', 'crd', 'crds', 'cj', 'pc', 'rs', 'rc', 'ep', 'hpa', 'ing', 'netpol', 'pdb'];
    const all = crds.flatMap((c) => c.spec.names.shortNames ?? []);
    expect(new Set(all).size).toBe(all.length);
    for (const s of all) expect(taken).not.toContain(s);
    for (const c of crds) {
      const categories = c.spec.names.categories ?? [];
      expect(categories).toContain('cairn-admin');
      // NodeAgent is admin-only: in the tenant category, `kubectl get cairn` would be Forbidden for tenants.
      expect(categories.includes('cairn')).toBe(c.spec.names.kind !== 'NodeAgent');
    }
  });
});

describe('phase helpers', () => {
  it('treats Completed, PartiallyFailed, Failed and FailedValidation as final for a Backup', () => {
    expect(BACKUP_PHASES.filter((p) => isBackupFinal(p))).toEqual(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);
    expect(isBackupFinal(undefined)).toBe(false);
  });

  it('treats a Backup being deleted as not final', () => {
    expect(isBackupFinal('Deleting')).toBe(false);
  });

  it('treats the same phases as final for a Restore', () => {
    expect(RESTORE_PHASES.filter((p) => isRestoreFinal(p))).toEqual(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);
    expect(isRestoreFinal(undefined)).toBe(false);
  });

  it('treats Processed and Failed as final for a DeleteBackupRequest', () => {
    expect(DELETE_BACKUP_REQUEST_PHASES.filter((p) => isDeleteBackupRequestFinal(p))).toEqual(['Processed', 'Failed']);
  });

  it('narrows only known phases read from untyped objects', () => {
    expect(isBackupPhase('Completed')).toBe(true);
    expect(isBackupPhase('completed')).toBe(false);
    expect(isBackupPhase(undefined)).toBe(false);
  });
});
