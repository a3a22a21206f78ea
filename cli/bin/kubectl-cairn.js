#!/usr/bin/env node
// The `kubectl-cairn` executable (kubectl finds it on PATH as the plugin `kubectl cairn`). It runs
// the TypeScript entry on the Node that runs this file, which must strip types itself (Node 24,
// as the project's engines say; `npm ci` brings it in node_modules/.bin).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`error: Usage: kubectl-cairn needs Node.js 24 or newer (this is ${process.version} at ${process.execPath}); put a Node 24 first in PATH, e.g. the one npm ci installs in node_modules/.bin\n`);
  process.exit(2);
}
await import('../src/main.ts');
