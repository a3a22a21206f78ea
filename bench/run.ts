// Benchmark entry point: `npm run bench -- engine [--quick] [--runs N] [--datasets D1,D2,D3]
// [--tools cairn,restic,kopia] [--work-dir DIR] [--op-timeout MIN]`. Writes
// bench/results/engine.json (engine-quick.json for --quick) and regenerates bench/RESULTS.md;
// `npm run bench -- render` only regenerates RESULTS.md. See bench/README.md.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { datasetNames, type DatasetName } from './datasets/spec.ts';
import { runEngineBench } from './engine.ts';
import { renderResultsMd } from './results-md.ts';
import { toolNames, type ToolName } from './tools/tool.ts';

const usage = `usage: npm run bench -- engine [--quick] [--runs N] [--datasets D1,D2,D3] [--tools cairn,restic,kopia] [--work-dir DIR] [--op-timeout MIN]
       npm run bench -- coordinator [--tenants 200] [--nodes 4] [--work-dir DIR]   (issue 6; bench/coordinator/)
       npm run bench -- render      (rewrite RESULTS.md from bench/results/*.json)
  --quick      scaled-down datasets (D1 256 MiB, D2 10k files, D3 50k files), 1 run unless --runs
  --runs N     runs per dataset; medians are reported (default 3)
  --work-dir   datasets, MinIO data, restores and logs (default $CAIRN_BENCH_DIR or /var/tmp/cairn-bench)
  --op-timeout minutes one operation may take before it is killed and counted as failed
               (default 10 with --quick, 90 otherwise)`;

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) throw new Error(`unknown ${what} '${i}' (allowed: ${allowed.join(', ')})`);
  return items as T[];
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'coordinator') return (await import('./coordinator/run.ts')).coordinatorMain(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      datasets: { type: 'string' },
      tools: { type: 'string' },
      'work-dir': { type: 'string' },
      'op-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const here = import.meta.dirname;
  const resultsDir = join(here, 'results');
  const fullFile = join(resultsDir, 'engine.json');
  const quickFile = join(resultsDir, 'engine-quick.json');
  // The engine tables are rendered from their JSON; hand-written sections between
  // `<!-- NAME:start -->` and `<!-- NAME:end -->` (the analysis of the engine's numbers, the
  // coordinator's results from bench/coordinator/) are kept as they are, in their order, after them.
  const writeResultsMd = async () => {
    const previous = await readFile(join(here, 'RESULTS.md'), 'utf8').catch(() => '');
    const kept = [...previous.matchAll(/<!-- ([a-z-]+):start -->[\s\S]*?<!-- \1:end -->\n?/g)].map((m) => m[0].trimEnd());
    const engine = renderResultsMd(fullFile, quickFile, 'bench/results/engine.json', 'bench/results/engine-quick.json');
    await writeFile(join(here, 'RESULTS.md'), [engine.trimEnd(), ...kept].join('\n\n') + '\n');
  };
  if (positionals[0] === 'render' && positionals.length === 1) {
    await writeResultsMd();
    console.log(`[bench] rewrote ${join(here, 'RESULTS.md')} from ${resultsDir}`);
    return 0;
  }
  if (values.help || positionals[0] !== 'engine' || positionals.length > 1) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 24) throw new Error(`the benchmark runs on Node.js 24; this is ${process.version} (put node_modules/.bin first on PATH)`);
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got '${values.runs}'`);
  const opTimeoutMin = Number(values['op-timeout'] ?? (values.quick ? 10 : 90));
  if (!(opTimeoutMin > 0)) throw new Error(`--op-timeout must be a positive number of minutes, got '${values['op-timeout']}'`);
  const datasets: DatasetName[] = list(values.datasets, datasetNames, 'dataset');
  const tools: ToolName[] = list(values.tools, toolNames, 'tool');

  const results = await runEngineBench({
    quick: values.quick,
    runs,
    datasets,
    tools,
    workDir: values['work-dir'] ?? process.env.CAIRN_BENCH_DIR ?? '/var/tmp/cairn-bench',
    command: `npm run bench -- ${argv.join(' ')}`,
    opTimeoutMs: opTimeoutMin * 60_000,
  });

  await mkdir(resultsDir, { recursive: true });
  await writeFile(values.quick ? quickFile : fullFile, `${JSON.stringify(results, null, 2)}\n`);
  await writeResultsMd();
  console.log(`[bench] wrote ${values.quick ? quickFile : fullFile} and ${join(here, 'RESULTS.md')}`);
  if (results.errors.length) console.log(`[bench] ${results.errors.length} error(s):\n${results.errors.map((e) => `  - ${e.split('\n')[0]}`).join('\n')}`);
  return results.errors.length ? 1 : 0;
}

process.exitCode = await main();
