import { defineConfig } from 'vitest/config';

// The browser end-to-end test: a real Chromium (with a CDP virtual authenticator) against the real
// Node server started as a child process. Embedded PGlite, or PostgreSQL when TEST_DATABASE_URL is set.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
