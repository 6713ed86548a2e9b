import { defineConfig } from 'vitest/config';
import { driverProjects } from './test/setup/projects';

// The HTTP suite runs on embedded PGlite always, and again on PostgreSQL when TEST_DATABASE_URL is set.
const suite = ['test/**/*.test.ts'];
const elsewhere = ['test/browser/**', 'test/worker/**', 'test/reliability/**'];

export default defineConfig({
  test: {
    projects: driverProjects({ include: suite, exclude: elsewhere }),
    // Several files start real server processes; on a loaded 2-core machine a start can take a while.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
