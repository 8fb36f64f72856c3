import { defineConfig } from 'vitest/config';
import { workerExecArgv } from './scripts/test-watchdog.mjs';

// Two projects: `unit` (pure logic in Node, seconds) and `integration` (real
// nginx, slapd, redis-server and chromium started on 127.0.0.1 ephemeral ports).
export default defineConfig({
  test: {
    // scripts/test-watchdog.mjs fails the run, with stacks, when a file stops making progress
    // (LJWT_TEST_FILE_TIMEOUT_S): a worker blocked in native code never runs vitest's timeouts.
    reporters: ['default', ['json', { outputFile: 'test-results/results.json' }], ['./scripts/test-watchdog.mjs', { outputDir: 'test-results' }]],
    // The machine has two cores; integration files start their own servers.
    maxWorkers: 2,
    minWorkers: 1,
    // One child process per file, so the watchdog can signal and kill a stuck one.
    pool: 'forks',
    poolOptions: { forks: { execArgv: workerExecArgv('test-results') } },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
