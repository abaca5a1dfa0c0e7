import { defineConfig } from 'vitest/config';

// Two tiers: unit tests are pure and fast; integration tests share one real
// control plane + Pebble started by test/support/global-setup.ts, and isolate
// themselves with a namespace per test.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          pool: 'forks',
          // Each file runs its own operator against the one shared API server;
          // operators reconcile cluster-wide, so files take turns.
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
