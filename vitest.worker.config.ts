import { defineConfig } from 'vitest/config';

// `npm run test:worker`: HTTP flows against the real worker bundle under `wrangler dev --local`
// (workerd), PostgreSQL through the Hyperdrive binding and mail over SMTP. Needs PostgreSQL.
export default defineConfig({
  test: {
    name: 'worker',
    include: ['test/worker/**/*.test.ts'],
    globalSetup: ['test/worker/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
