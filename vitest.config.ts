import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Worker threads and child processes do real work here; the default 5 s is too tight on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
