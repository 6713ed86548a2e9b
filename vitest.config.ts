import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// The HTTP suite runs on embedded PGlite always, and again on PostgreSQL when TEST_DATABASE_URL is set.
const suite = ['test/**/*.test.ts'];
const elsewhere = ['test/browser/**', 'test/worker/**', 'test/reliability/**'];

const projects: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      name: 'pglite',
      include: suite,
      exclude: elsewhere,
      env: { TEST_DRIVER: 'pglite' },
      globalSetup: ['test/setup/pglite-template.ts'],
    },
  },
];
if (process.env.TEST_DATABASE_URL) {
  projects.push({
    extends: true,
    test: {
      name: 'postgres',
      include: suite,
      exclude: elsewhere,
      env: { TEST_DRIVER: 'postgres' },
      globalSetup: ['test/setup/postgres-template.ts'],
    },
  });
}

export default defineConfig({
  test: {
    projects,
    // Several files start real server processes; on a loaded 2-core machine a start can take a while.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
