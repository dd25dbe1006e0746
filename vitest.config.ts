import { defineConfig } from 'vitest/config';

/**
 * Files that measure a process's memory, or push hundreds of chunks through moto within a deadline
 * while one emulator is killed: they run after the others, one at a time (under a second file they
 * failed, on a machine busy with other work; stranded-work's functions timed out 24 times).
 */
const ALONE = [
  'test/integration/serve-expiry.test.ts',
  'test/e2e/cross-cloud.test.ts',
  'test/e2e/stranded-work.test.ts',
];

export default defineConfig({
  test: {
    // Worker threads and child processes do real work here; the default 5 s is too tight on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: ALONE,
          // Vitest's default is one file at a time on 2 cores (availableParallelism - 1), but most of the
          // time goes to files waiting on emulators, child processes and timers at well under a core each.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
    coverage: {
      provider: 'v8',
      include: ['src/**'],
      reporter: ['text-summary', 'html', 'lcov'],
      reportsDirectory: 'coverage',
      // A flaky end-to-end test must not hide the report of everything else.
      reportOnFailure: true,
      // Just under what the suite reaches (core 98.4 / 95.9 / 98.8 / 98.9 %, ports 100 %). Code run in
      // child processes (the CLI tests) and on worker threads is not counted.
      thresholds: {
        'src/core/**': { statements: 98, branches: 95, functions: 98, lines: 98 },
        'src/ports/**': { statements: 100, branches: 100, functions: 100, lines: 100 },
      },
    },
  },
});
