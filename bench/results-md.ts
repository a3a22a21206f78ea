// Renders bench/RESULTS.md from the result files of the last full and the last quick run.
import { existsSync, readFileSync } from 'node:fs';
import type { DatasetName } from './datasets/spec.ts';
import { median, type DatasetResults, type EngineResults, type ToolMetrics, type ToolSample } from './results.ts';
import { toolNames, type ToolName } from './tools/tool.ts';

const MiB = 2 ** 20;

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? '–' : v.toFixed(digits);
}

/** Backup rate: MiB/s for large files, files/s for small ones (where per-file cost dominates). */
function rate(seconds: number, bytes: number, files: number): string {
  if (seconds <= 0) return '';
  return bytes / files >= MiB ? ` (${(bytes / MiB / seconds).toFixed(0)} MiB/s)` : ` (${(files / seconds).toFixed(0)} files/s)`;
}

function toolRow(name: ToolName, m: ToolMetrics | undefined, bytes: number, files: number, failed: number, runs: number): string {
  const label = failed ? `${name} (${failed} of ${runs} runs failed, see Errors)` : name;
  if (!m || m.backup_s === null) return `| ${label} | – | – | – | – | – | – |`;
  return `| ${label} | ${fmt(m.backup_s)}${rate(m.backup_s, bytes, files)} | ${fmt(m.restore_s)} | ${fmt(m.rebackup_unchanged_s)} | ${fmt(m.rebackup_1pct_s)} | ${fmt(m.stored_bytes === null ? null : m.stored_bytes / MiB, 1)} | ${fmt(m.peak_rss_mib, 0)} |`;
}

interface Target {
  label: string;
  /** The measured ratio or value, or a reason it is missing. */
  value: number | string;
  want: string;
  met: (v: number) => boolean;
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | string {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? 'pending' : a / b;
}

function targets(r: EngineResults): Target[] {
  const d = (n: DatasetName): DatasetResults | undefined => r.datasets[n];
  const out: Target[] = [];
  for (const n of ['D1', 'D2'] as const) {
    if (!d(n)) continue;
    out.push({ label: `${n} backup speed vs kopia`, value: ratio(d(n)?.kopia?.backup_s, d(n)?.cairn?.backup_s), want: '≥ 1.5×', met: (v) => v >= 1.5 });
    out.push({ label: `${n} backup speed vs restic`, value: ratio(d(n)?.restic?.backup_s, d(n)?.cairn?.backup_s), want: '≥ 2×', met: (v) => v >= 2 });
  }
  for (const n of ['D1', 'D2', 'D3'] as const) {
    if (d(n)) out.push({ label: `${n} restore speed vs kopia`, value: ratio(d(n)?.kopia?.restore_s, d(n)?.cairn?.restore_s), want: '≥ 1.5×', met: (v) => v >= 1.5 });
  }
  if (d('D2')) out.push({ label: 'D2 unchanged re-backup speed vs restic', value: ratio(d('D2')?.restic?.rebackup_unchanged_s, d('D2')?.cairn?.rebackup_unchanged_s), want: '≥ 1×', met: (v) => v >= 1 });
  if (d('D1')) {
    const c = d('D1')?.ceiling;
    const ceiling = c?.zstd_s !== null && c?.zstd_s !== undefined && c.put_s !== null ? c.zstd_s + c.put_s : null;
    out.push({ label: 'D1 backup vs ceiling (zstd_s + put_s) / backup_s', value: ratio(ceiling, d('D1')?.cairn?.backup_s), want: '≥ 0.7', met: (v) => v >= 0.7 });
  }
  if (d('D3')) {
    const rss = d('D3')?.cairn?.peak_rss_mib;
    const kopia = d('D3')?.kopia?.peak_rss_mib;
    const floor = rss === null || rss === undefined ? rssLowerBound(r.samples.D3?.cairn ?? []) : null;
    if (floor === null) {
      out.push({ label: 'D3 peak RSS (MiB)', value: rss ?? 'pending', want: '< 256', met: (v) => v < 256 });
      out.push({ label: 'D3 peak RSS, kopia / cairn', value: ratio(kopia, rss), want: '≥ 2×', met: (v) => v >= 2 });
    } else {
      // No run completed all operations, but the ones that ran bound the peak from below.
      out.push({ label: 'D3 peak RSS (MiB), lower bound from incomplete runs', value: floor, want: '< 256', met: (v) => v < 256 });
      const upper = ratio(kopia, floor);
      out.push({ label: 'D3 peak RSS, kopia / cairn, upper bound from incomplete runs', value: upper, want: '≥ 2×', met: (v) => v >= 2 });
    }
  }
  return out;
}

/** Median over runs of the largest peak RSS among the operations that completed; null if none did. */
function rssLowerBound(samples: ToolSample[]): number | null {
  const peaks = samples.map((s) => Object.values(s.peak_rss_mib_by_op)).filter((v) => v.length > 0).map((v) => Math.max(...v));
  return median(peaks);
}

function section(title: string, file: string, r: EngineResults | undefined): string[] {
  const lines = [`## ${title}`, ''];
  if (!r) return [...lines, `_Pending: no ${title.toLowerCase()} recorded yet (${file})._`, ''];
  const m = r.machine;
  lines.push(
    `- Command: \`${r.command}\``,
    `- Date: ${r.date}; took ${(r.duration_s / 60).toFixed(1)} min; ${r.runs} run(s) per dataset, values are medians`,
    `- Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memory_gib} GiB RAM, ${m.os}, kernel ${m.kernel}; 1-minute load average ${m.load_at_start} at the start and ${m.load_at_end} at the end of the run`,
    `- Software: Node ${m.node}, ${m.zstd}, ${m.tar}, ${m.minio}; datasets, MinIO data and restores in ${m.work_dir}`,
    `- Raw numbers, per run: \`${file}\``,
    '',
    'Tools:',
    '',
  );
  for (const t of toolNames) {
    const info = r.tools[t];
    if (!info) continue;
    lines.push('unavailable' in info ? `- **${t}: not measured**: ${info.unavailable}` : `- **${info.version}**: ${info.settings}`);
  }
  lines.push('');
  for (const [name, dr] of Object.entries(r.datasets) as [DatasetName, DatasetResults][]) {
    const info = r.dataset_info[name];
    const bytes = info?.bytes ?? 0;
    lines.push(
      `### ${name}: ${info?.description ?? ''} (${info?.files ?? '?'} files, ${(bytes / MiB).toFixed(0)} MiB; ${info?.mutated_files ?? '?'} changed for the 1% re-backup)`,
      '',
      '| tool | backup s | restore s | unchanged re-backup s | 1% re-backup s | stored MiB | peak RSS MiB |',
      '|---|---|---|---|---|---|---|',
      ...toolNames.filter((t) => r.tools[t]).map((t) => toolRow(t, dr[t], bytes, info?.files ?? 1, (r.samples[name]?.[t] ?? []).filter((x) => x.error).length, r.runs)),
      '',
      `Ceiling: zstd_s ${fmt(dr.ceiling.zstd_s)} s, put_s ${fmt(dr.ceiling.put_s)} s, sum ${dr.ceiling.zstd_s !== null && dr.ceiling.put_s !== null ? fmt(dr.ceiling.zstd_s + dr.ceiling.put_s) : '–'} s (the ceiling on ${m.nproc} shared cores is the sum).`,
      '',
    );
  }
  const ts = targets(r);
  if (ts.length) {
    lines.push('### Targets (issue 3; ratios within this run)', '', '| target | wanted | measured | met |', '|---|---|---|---|');
    for (const t of ts) {
      const v = typeof t.value === 'number' ? t.value.toFixed(2) : t.value;
      const met = typeof t.value === 'number' ? (t.met(t.value) ? 'yes' : '**no**') : 'pending (no Cairn number)';
      lines.push(`| ${t.label} | ${t.want} | ${v} | ${met} |`);
    }
    lines.push('');
  }
  if (r.errors.length) lines.push('### Errors', '', ...r.errors.map((e) => `- ${e.split('\n')[0]}`), '');
  return lines;
}

function load(file: string): EngineResults | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as EngineResults) : undefined;
}

export function renderResultsMd(fullFile: string, quickFile: string, relFull: string, relQuick: string): string {
  return [
    '# Engine benchmark results',
    '',
    'Written by `npm run bench -- engine` (bench/run.ts) after each run; edit by hand only the sections between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers (kept as they are).',
    'What each number means, and how the run is set up: [README.md](README.md).',
    '',
    ...section('Full run', relFull, load(fullFile)),
    ...section('Quick run', relQuick, load(quickFile)),
  ].join('\n');
}
