// The engine benchmark's results: per-run samples, their medians, and the JSON written to
// bench/results/. Seconds, bytes and MiB; a metric nobody could measure is null.
import type { DatasetName } from './datasets/spec.ts';
import type { MachineFacts } from './machine.ts';
import type { ToolName } from './tools/tool.ts';

export const metricNames = ['backup_s', 'restore_s', 'rebackup_unchanged_s', 'rebackup_1pct_s', 'stored_bytes', 'peak_rss_mib'] as const;
export type MetricName = (typeof metricNames)[number];
export type ToolMetrics = Record<MetricName, number | null>;

export interface CeilingMetrics {
  zstd_s: number | null;
  put_s: number | null;
}

/**
 * One tool's numbers from one run; peak RSS is the largest of its operations'. A failed sample
 * has `error` and only the metrics measured before the failure.
 */
export interface ToolSample extends Partial<Record<MetricName, number>> {
  peak_rss_mib_by_op: Record<string, number>;
  error?: string;
}

export type DatasetResults = Partial<Record<ToolName, ToolMetrics>> & { ceiling: CeilingMetrics };

export interface EngineResults {
  runs: number;
  datasets: Partial<Record<DatasetName, DatasetResults>>;
  quick: boolean;
  date: string;
  command: string;
  duration_s: number;
  machine: MachineFacts;
  tools: Partial<Record<ToolName, { version: string; settings: string } | { unavailable: string }>>;
  dataset_info: Partial<Record<DatasetName, { description: string; files: number; bytes: number; mutated_files: number }>>;
  /** Everything that failed, one line each; a tool with an error has fewer samples (or none). */
  errors: string[];
  samples: Partial<Record<DatasetName, Partial<Record<ToolName, ToolSample[]>> & { ceiling: { zstd_s: number; put_s: number }[] }>>;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function round(v: number | null, digits: number): number | null {
  return v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;
}

/** Per metric, the median over the samples that have it. */
export function toolMedians(samples: ToolSample[]): ToolMetrics {
  const out = {} as ToolMetrics;
  for (const m of metricNames) {
    const values = samples.map((s) => s[m]).filter((v): v is number => v !== undefined);
    out[m] = round(median(values), m === 'stored_bytes' ? 0 : m === 'peak_rss_mib' ? 1 : 3);
  }
  return out;
}

export function ceilingMedians(samples: { zstd_s: number; put_s: number }[]): CeilingMetrics {
  return { zstd_s: round(median(samples.map((s) => s.zstd_s)), 3), put_s: round(median(samples.map((s) => s.put_s)), 3) };
}
