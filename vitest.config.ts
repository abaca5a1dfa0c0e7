import { defineConfig } from 'vitest/config';

// Three tiers: unit tests are pure and fast; integration tests share one real
// control plane + Pebble started by test/support/global-setup.ts, and isolate
// themselves with a namespace per test; e2e tests run against the real
// single-node cluster of hack/cluster.sh (test/e2e/global-setup.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // A timeout catches a hang, it is not a speed check: on a shared
          // 2-core CI machine a key generation or an openssl run has taken
          // past vitest's default 5 s.
          testTimeout: 20_000,
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
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 1_800_000,
          pool: 'forks',
          // One cluster, one operator release: files take turns.
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
