import { defineConfig } from 'vitest/config';
import { driverProjects } from './test/setup/projects';

// `npm run test:reliability`: fuzzing, races, faults and timing (test/reliability/), on embedded
// PGlite always and on PostgreSQL when TEST_DATABASE_URL is set. The files under
// test/reliability/postgres/ (two server processes, a TCP proxy in front of PostgreSQL) mean
// something only on PostgreSQL, so only the postgres project includes them.
const everywhere = ['test/reliability/*.test.ts'];
const postgresOnly = ['test/reliability/postgres/**/*.test.ts'];

export default defineConfig({
  test: {
    projects: driverProjects({ include: everywhere, postgresOnly }),
    // These files load the machine on purpose (thousands of requests, fifty in parallel, server
    // processes); one at a time keeps their figures meaningful and their timeouts honest.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
