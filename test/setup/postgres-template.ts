import postgres from 'postgres';
import { migratePostgres } from '../../src/db/migrate';
import { databaseUrl, TEMPLATE_DATABASE } from '../helpers/postgres-url';

/** Migrates a template database once; every test file then gets a copy (`CREATE DATABASE … TEMPLATE`). */
export default async function setup(): Promise<() => Promise<void>> {
  const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await migratePostgres(databaseUrl(TEMPLATE_DATABASE));
  await admin.end();
  return async () => {
    const cleanup = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    const stale = await cleanup<{ datname: string }[]>`select datname from pg_database where datname like 'auth_test_%'`;
    for (const { datname } of stale) await cleanup.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await cleanup.end();
  };
}
