import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Property tests run with a fixed seed in CI (see test/support/properties.ts); long runs are opt-in.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
