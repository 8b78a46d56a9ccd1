import { defineConfig } from 'vitest/config';

// `npm run test:long` runs the big property and fuzz campaigns: hours, not a minute, per test.
const long = process.env['KEYWAY_LONG'] === '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: long ? 6 * 3_600_000 : 60_000,
    hookTimeout: 60_000,
  },
});
