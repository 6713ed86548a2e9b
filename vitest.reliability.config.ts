import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// `npm run test:reliability`: fuzzing, races, faults and timing (test/reliability/), on embedded
// PGlite always and on PostgreSQL when TEST_DATABASE_URL is set. The files under
// test/reliability/postgres/ (two server processes, a TCP proxy in front of PostgreSQL) mean
// something only on PostgreSQL, so only the postgres project includes them.
const everywhere = ['test/reliability/*.test.ts'];
const postgresOnly = ['test/reliability/postgres/**/*.test.ts'];

const projects: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      name: 'pglite',
      include: everywhere,
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
      include: [...everywhere, ...postgresOnly],
      env: { TEST_DRIVER: 'postgres' },
      globalSetup: ['test/setup/postgres-template.ts'],
    },
  });
}

export default defineConfig({
  test: {
    projects,
    // These files load the machine on purpose (thousands of requests, fifty in parallel, server
    // processes); one at a time keeps their figures meaningful and their timeouts honest.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
