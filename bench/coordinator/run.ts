// `npm run bench -- coordinator [--tenants N] [--nodes N] [--work-dir DIR]`: the coordinator
// benchmark (coordinator-bench.ts). Writes bench/results/coordinator.json and the "Coordinator at
// scale" section of bench/RESULTS.md.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderCoordinatorMd, runCoordinatorBench } from './coordinator-bench.ts';

const start = '<!-- coordinator-bench:start -->';
const end = '<!-- coordinator-bench:end -->';

/** Puts the section between its markers in RESULTS.md (appended the first time). */
export async function writeCoordinatorSection(resultsMd: string, section: string): Promise<void> {
  const text = await readFile(resultsMd, 'utf8').catch(() => '');
  const block = `${start}\n${section}${end}\n`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  await writeFile(resultsMd, i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length + 1) : `${text.trimEnd()}\n\n${block}`);
}

export async function coordinatorMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { tenants: { type: 'string', default: '200' }, nodes: { type: 'string', default: '4' }, 'work-dir': { type: 'string' }, 'max-old-space': { type: 'string' } } });
  const tenants = Number(values.tenants);
  const nodes = Number(values.nodes);
  if (!Number.isInteger(tenants) || tenants < 1 || !Number.isInteger(nodes) || nodes < 1 || nodes > 200) throw new Error('--tenants and --nodes must be positive integers (nodes at most 200)');
  const workDir = values['work-dir'] ?? process.env.CAIRN_BENCH_DIR ?? '/var/tmp/cairn-bench';
  const started = Date.now();
  const maxOld = values['max-old-space'] === undefined ? undefined : Number(values['max-old-space']);
  if (maxOld !== undefined && (!Number.isInteger(maxOld) || maxOld < 64)) throw new Error('--max-old-space is a heap limit in MiB, at least 64');
  const r = await runCoordinatorBench({ tenants, nodes, workDir, ...(maxOld ? { maxOldSpaceMib: maxOld } : {}), log: (m) => console.log(`[bench] ${((Date.now() - started) / 1000).toFixed(0)}s ${m}`) });
  const here = join(import.meta.dirname, '..');
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', 'coordinator.json'), `${JSON.stringify(r, null, 2)}\n`);
  const command = `npm run bench -- coordinator --tenants ${tenants} --nodes ${nodes}${maxOld ? ` --max-old-space ${maxOld}` : ''}`;
  await writeCoordinatorSection(join(here, 'RESULTS.md'), renderCoordinatorMd(r, command));
  console.log(JSON.stringify(r, null, 2));
  return r.failed === 0 ? 0 : 1;
}

if (import.meta.main) process.exitCode = await coordinatorMain(process.argv.slice(2));
