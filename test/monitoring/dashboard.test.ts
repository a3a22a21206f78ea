// The Grafana dashboard (manifests/monitoring/cairn-dashboard.json) against the metrics the code
// registers: every metric a query names exists, and every Cairn metric is on the dashboard.
// Whether each query returns data from real scrapes: monitoring.e2e.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../agent/src/metrics/agent-metrics.ts';
import { CoordinatorMetrics } from '../../coordinator/src/metrics/coordinator-metrics.ts';
import { dashboardQueries } from './monitoring-fixtures.ts';

const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'manifests', 'monitoring', 'cairn-dashboard.json'), 'utf8')) as {
  uid: string; panels: Array<{ id: number; type: string; gridPos: unknown; datasource?: { uid: string }; targets?: unknown[] }>;
};

async function registered(): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  const c = new CoordinatorMetrics({ defaultMetrics: false });
  const a = new AgentMetrics({ node: 'n', maxJobs: 1, defaultMetrics: false });
  for (const r of [c.registry, a.registry]) for (const m of await r.getMetricsAsJSON()) types.set(m.name, String(m.type));
  return types;
}

/** Metric names in a query: cairn_* words, with the histogram series suffixes taken off. */
function metricsOf(expr: string, histograms: Set<string>): string[] {
  return [...expr.matchAll(/\bcairn_[a-z_]+\b/g)].map(([name]) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return histograms.has(base) ? base : name;
  });
}

describe('the Grafana dashboard', () => {
  it('queries only metrics that the coordinator or the agent registers', async () => {
    const types = await registered();
    const histograms = new Set([...types].filter(([, t]) => t === 'histogram').map(([n]) => n));
    const { exprs, variables } = dashboardQueries(dashboard);
    expect(exprs.length).toBeGreaterThan(20);
    for (const { panel, expr } of exprs) {
      const names = metricsOf(expr, histograms);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const n of names) expect(types.has(n), `${panel}: ${n} is not a registered metric`).toBe(true);
      // A histogram is read through its buckets; a counter through rate or increase.
      for (const n of names) if (types.get(n) === 'counter') expect(expr, `${panel}: counter ${n} without rate() or increase()`).toMatch(/\b(rate|increase)\(/);
    }
    for (const v of variables) expect(types.has(v.metric), `variable ${v.name}`).toBe(true);
  });

  it('shows every Cairn metric', async () => {
    const types = await registered();
    const histograms = new Set([...types].filter(([, t]) => t === 'histogram').map(([n]) => n));
    const used = new Set(dashboardQueries(dashboard).exprs.flatMap(({ expr }) => metricsOf(expr, histograms)));
    expect([...types.keys()].filter((n) => !used.has(n))).toEqual([]);
  });

  it('is importable: unique panel ids, a layout for each panel, the data source variable on every query panel', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos, `panel ${p.id}`).toBeDefined();
      if (p.type !== 'row') expect(p.datasource?.uid, `panel ${p.id}`).toBe('${datasource}');
    }
    expect(dashboard.uid).toBe('cairn-overview');
  });
});
