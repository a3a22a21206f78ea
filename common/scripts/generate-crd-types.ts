// Generates common/src/generated/crds.ts from the CRD YAML in manifests/crds/, the single source
// of truth for the cairn.dev API. Run with `npm run gen:crd-types`; `npm run check:generated`
// fails when the committed output differs from what this produces.
//
// Per kind it emits `XxxSpec`, `XxxStatus`, the object type `Xxx` and `XxxList`. Shapes that
// occur more than once (conditions, progress, volume status, ...) are emitted once under a name
// from SHARED below, after checking that every occurrence has the same schema; Schedule's
// spec.template becomes `BackupSpec`, after checking that it is Backup's spec.
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { compile } from 'json-schema-to-typescript';
import { parse } from 'yaml';

type Schema = { [key: string]: unknown };

const root = resolve(import.meta.dirname, '../..');
const crdDir = join(root, 'manifests/crds');
const outFile = join(root, 'common/src/generated/crds.ts');

// Named types for shapes that occur in several places, with where they occur
// (`Kind:path.in.schema`, `[]` meaning an array's items) and a description of their own.
const SHARED: Record<string, { doc: string; at: string[] }> = {
  Condition: {
    doc: 'One aspect of an object\'s state, in the shape of metav1.Condition.',
    at: ['Backup', 'BackupStorageLocation', 'Restore', 'Schedule'].map((k) => `${k}:status.conditions[]`),
  },
  LabelSelector: { doc: 'A Kubernetes label selector (metav1.LabelSelector).', at: ['Backup:spec.podSelector'] },
  LabelSelectorRequirement: {
    doc: 'One requirement of a label selector.',
    at: ['Backup:spec.podSelector.matchExpressions[]'],
  },
  SecretKeyRef: {
    doc: 'A key in a Secret of the referring object\'s own namespace.',
    at: ['BackupStorageLocation:spec.credential', 'BackupStorageLocation:spec.encryption.keySecret'],
  },
  TransferProgress: { doc: 'Progress of a backup or restore.', at: ['Backup:status.progress', 'Restore:status.progress'] },
  VolumeStatus: {
    doc: 'The state of one volume of a backup or restore.',
    at: ['Backup:status.volumes[]', 'Restore:status.volumes[]'],
  },
  NodeAgentJob: { doc: 'A job running on a node.', at: ['NodeAgent:status.jobs[]'] },
};
const sharedAt = new Map(Object.entries(SHARED).flatMap(([name, { at }]) => at.map((p) => [p, name] as const)));

interface Crd {
  kind: string;
  group: string;
  version: string;
  schema: Schema;
}

function fail(message: string): never {
  console.error(`generate-crd-types: ${message}`);
  process.exit(1);
}

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(s: Schema, key: string, where: string): Schema {
  const v = s[key];
  if (!isSchema(v)) fail(`${where}: missing ${key}`);
  return v;
}

function loadCrds(): Crd[] {
  const files = readdirSync(crdDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  const crds = files.map((file): Crd => {
    const doc = parse(readFileSync(join(crdDir, file), 'utf8')) as unknown;
    if (!isSchema(doc) || doc.kind !== 'CustomResourceDefinition') fail(`${file}: not a CustomResourceDefinition`);
    const spec = child(doc, 'spec', file);
    const names = child(spec, 'names', file);
    const versions = spec.versions;
    if (!Array.isArray(versions)) fail(`${file}: no versions`);
    const storage = versions.filter((v): v is Schema => isSchema(v) && v.storage === true);
    if (storage.length !== 1) fail(`${file}: expected exactly one storage version`);
    const version = storage[0]!;
    const schema = child(child(version, 'schema', file), 'openAPIV3Schema', file);
    return { kind: String(names.kind), group: String(spec.group), version: String(version.name), schema };
  });
  return crds.sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}

// Drops the Kubernetes extensions (x-kubernetes-*), which mean nothing to the type generator.
function stripExtensions(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(stripExtensions);
  if (!isSchema(s)) return s;
  const out: Schema = {};
  for (const [key, value] of Object.entries(s)) {
    if (!key.startsWith('x-kubernetes-')) out[key] = stripExtensions(value);
  }
  return out;
}

// The shape of a schema as far as types go: no extensions, no description at its top.
function shapeOf(s: Schema): unknown {
  const { description: _description, ...rest } = stripExtensions(s) as Schema;
  return rest;
}

// Replaces the shared shapes in `s` by references to their named types, collecting the first
// occurrence of each in `defs` and failing when two occurrences differ.
function extractShared(kind: string, path: string, s: Schema, defs: Map<string, Schema>): Schema {
  const name = sharedAt.get(`${kind}:${path}`);
  const walked = walkChildren(kind, path, s, defs);
  if (name === undefined) return walked;
  const seen = defs.get(name);
  if (seen === undefined) defs.set(name, walked);
  else if (!isDeepStrictEqual(shapeOf(seen), shapeOf(walked))) fail(`${kind}:${path} differs from the other ${name} shapes`);
  return { tsType: name, ...(typeof s.description === 'string' ? { description: s.description } : {}) };
}

function walkChildren(kind: string, path: string, s: Schema, defs: Map<string, Schema>): Schema {
  const out: Schema = { ...s };
  if (isSchema(s.properties)) {
    const props: Schema = {};
    for (const [key, value] of Object.entries(s.properties)) {
      if (!isSchema(value)) fail(`${kind}:${path}.${key} is not a schema`);
      props[key] = extractShared(kind, path === '' ? key : `${path}.${key}`, value, defs);
    }
    out.properties = props;
  }
  if (isSchema(s.items)) out.items = extractShared(kind, `${path}[]`, s.items, defs);
  return out;
}

// Schedule's spec.template must be exactly Backup's spec, less Backup's immutability rule
// (rules that use oldSelf) and the description at its top.
function checkTemplate(backupSpec: Schema, template: Schema): void {
  const withoutTransitionRules = (s: Schema): unknown => {
    const { description: _description, ...rest } = s;
    const rules = rest['x-kubernetes-validations'];
    if (Array.isArray(rules)) {
      rest['x-kubernetes-validations'] = rules.filter((r) => !(isSchema(r) && String(r.rule).includes('oldSelf')));
    }
    return rest;
  };
  if (!isDeepStrictEqual(withoutTransitionRules(backupSpec), withoutTransitionRules(template))) {
    fail('Schedule spec.template is not the same schema as Backup spec (less its oldSelf rules)');
  }
}

const options = {
  bannerComment: '',
  additionalProperties: false,
  ignoreMinAndMaxItems: true,
  unknownAny: true,
  declareExternallyReferenced: false,
  style: { singleQuote: true, printWidth: 100, bracketSpacing: true, trailingComma: 'all' as const },
};

async function render(schema: Schema, name: string): Promise<string> {
  const { title: _title, ...rest } = stripExtensions(schema) as Schema;
  return (await compile(rest, name, options)).trim();
}

async function main(): Promise<void> {
  const crds = loadCrds();
  const backup = crds.find((c) => c.kind === 'Backup');
  const schedule = crds.find((c) => c.kind === 'Schedule');
  if (backup === undefined || schedule === undefined) fail('Backup and Schedule CRDs are required');
  const backupSpec = child(child(backup.schema, 'properties', 'Backup'), 'spec', 'Backup');
  const scheduleSpec = child(child(schedule.schema, 'properties', 'Schedule'), 'spec', 'Schedule');
  checkTemplate(backupSpec, child(child(scheduleSpec, 'properties', 'Schedule spec'), 'template', 'Schedule spec'));

  const defs = new Map<string, Schema>();
  const perKind: string[] = [];
  for (const crd of crds) {
    const props = child(crd.schema, 'properties', crd.kind);
    const required = Array.isArray(crd.schema.required) ? crd.schema.required : [];
    const parts: string[] = [`// ${crd.kind} (${crd.group}/${crd.version})`];
    const members = [
      `apiVersion: '${crd.group}/${crd.version}';`,
      `kind: '${crd.kind}';`,
      'metadata: V1ObjectMeta;',
    ];
    for (const part of ['spec', 'status'] as const) {
      const declared = props[part];
      if (!isSchema(declared)) continue;
      let s: Schema = declared;
      if (crd.kind === 'Schedule' && part === 'spec') {
        const p = child(s, 'properties', 'Schedule spec');
        const template = child(p, 'template', 'Schedule spec');
        s = { ...s, properties: { ...p, template: { tsType: 'BackupSpec', description: template.description } } };
      }
      const typeName = `${crd.kind}${part === 'spec' ? 'Spec' : 'Status'}`;
      parts.push(await render(extractShared(crd.kind, part, s, defs), typeName));
      members.push(`${part}${required.includes(part) ? '' : '?'}: ${typeName};`);
    }
    const description = typeof crd.schema.description === 'string' ? `/**\n * ${crd.schema.description}\n */\n` : '';
    parts.push(`${description}export interface ${crd.kind} {\n${members.map((m) => `  ${m}`).join('\n')}\n}`);
    parts.push(
      `export interface ${crd.kind}List {\n  apiVersion: '${crd.group}/${crd.version}';\n  kind: '${crd.kind}List';\n` +
        `  metadata: V1ListMeta;\n  items: ${crd.kind}[];\n}`,
    );
    perKind.push(parts.join('\n\n'));
  }

  const shared: string[] = [];
  for (const [name, { doc }] of Object.entries(SHARED).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const def = defs.get(name);
    if (def === undefined) fail(`shared type ${name} matched no schema; fix SHARED`);
    shared.push(await render({ ...def, description: doc }, name));
  }

  const text = [
    '// generated, do not edit: produced by common/scripts/generate-crd-types.ts from manifests/crds/*.yaml\n' +
      '// (npm run gen:crd-types). Change the CRDs and regenerate.',
    "import type { V1ListMeta, V1ObjectMeta } from '@kubernetes/client-node';",
    '// Shapes shared by several kinds',
    ...shared,
    ...perKind,
  ].join('\n\n');
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${text}\n`);
  console.log(`wrote ${outFile.slice(root.length + 1)} (${crds.length} kinds)`);
}

await main();
