import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migratePostgres } from '../../src/db/migrate';
import { databaseUrl } from '../helpers/postgres-url';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresTemplate: string;
  }
}

/**
 * Migrates a template database once per run; every test file then gets a copy
 * (`CREATE DATABASE … TEMPLATE`). Names carry the run's pid so parallel runs never meet.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const run = `auth_test_${process.pid}`;
  const template = `${run}_template`;
  const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${template}`);
  await admin.end();
  await migratePostgres(databaseUrl(template));
  project.provide('postgresTemplate', template);
  return async () => {
    const cleanup = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    const mine = await cleanup<{ datname: string }[]>`select datname from pg_database where datname like ${`${run}_%`}`;
    for (const { datname } of mine) await cleanup.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await cleanup.end();
  };
}
