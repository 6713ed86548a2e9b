// Builds dist/server/pglite-template for scripts/start-server.mjs, which runs this in a process
// of its own: PGlite holds hundreds of MiB while it creates a database, and a server that built
// the template in its own process kept that memory for its whole life.
import { renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';

const root = fileURLToPath(new URL('..', import.meta.url));
const template = `${root}dist/server/pglite-template`;
// Built aside and renamed into place, as the bundle is.
const partial = `${template}.${process.pid}.tmp`;
rmSync(partial, { recursive: true, force: true });
const db = await PGlite.create(partial);
await migrate(drizzle(db), { migrationsFolder: `${root}drizzle` });
await db.close();
rmSync(template, { recursive: true, force: true });
renameSync(partial, template);
