// Regenerates the TypeScript for proto/*.proto into common/src/generated/proto/ (`npm run
// gen:proto`). Uses only what npm installed: buf's built-in compiler (no system protoc) and the
// local ts-proto plugin named in proto/buf.gen.yaml; nothing is downloaded. The output directory
// is deleted first, so a removed message or file disappears from the generated code.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'node_modules', '.bin');
// Must match `out` in proto/buf.gen.yaml.
const out = path.join(root, 'common', 'src', 'generated', 'proto');

rmSync(out, { recursive: true, force: true });

// The plugin is a `#!/usr/bin/env node` script: put this Node first on PATH so the plugin runs
// on the same Node as this script, whatever the machine's default is.
const PATH = [path.dirname(process.execPath), bin, process.env['PATH'] ?? ''].join(path.delimiter);
execFileSync(path.join(bin, 'buf'), ['generate', '--template', 'proto/buf.gen.yaml'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH },
});
console.log(`generated ${path.relative(root, out)}/`);
