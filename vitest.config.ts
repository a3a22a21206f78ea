import { defineConfig } from 'vitest/config';

// Two projects: `unit` (x.test.ts beside x.ts, no real components) and `integration`
// (test/**: a real etcd, kube-apiserver, controller manager and MinIO started once per run by
// test/harness/global-setup.ts; a component that is missing fails the run, never skips it).
export default defineConfig({
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['common/**/*.test.ts', 'coordinator/**/*.test.ts', 'agent/**/*.test.ts', 'cli/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.e2e.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/scratch-dir.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.e2e.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/scratch-dir.ts', 'test/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});
