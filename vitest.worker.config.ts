import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** test/worker/process.test.ts looks at what the worker did for every other file, so it runs last. */
class ProcessChecksLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (spec: TestSpecification) => spec.moduleId.endsWith('/test/worker/process.test.ts');
    return [...sorted.filter((spec) => !last(spec)), ...sorted.filter(last)];
  }
}

// `npm run test:worker`: HTTP flows against the real worker bundle under `wrangler dev --local`
// (workerd), PostgreSQL through the Hyperdrive binding and mail over SMTP. Needs PostgreSQL.
export default defineConfig({
  test: {
    name: 'worker',
    include: ['test/worker/**/*.test.ts'],
    globalSetup: ['test/worker/setup.ts'],
    // One worker serves every file: files run one after another, so that a file's checks on the
    // worker's connections and output are not disturbed by another file's requests in flight.
    fileParallelism: false,
    sequence: { sequencer: ProcessChecksLast },
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
