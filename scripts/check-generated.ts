// CI check: the committed generated code (ts-proto output, CRD types) is what the generators
// produce from proto/ and manifests/crds/ now. Regenerates in place and fails on any difference.
import { execFileSync } from 'node:child_process';

const generated = ['common/src/generated'];
execFileSync('npm', ['run', '--silent', 'gen'], { stdio: 'inherit' });
const diff = execFileSync('git', ['status', '--porcelain', '--', ...generated], { encoding: 'utf8' });
if (diff.trim() !== '') {
  console.error(`Generated code is stale; run 'npm run gen' and commit:\n${diff}`);
  process.exit(1);
}
console.log('generated code is fresh');
