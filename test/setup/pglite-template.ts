import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import { migratePglite, migrationsFolder } from '../../src/db/migrate';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

/**
 * Creating a PGlite database takes seconds; loading a dump takes about one. The migrated
 * template is dumped once (and kept between runs while the migrations are unchanged), then
 * every test file loads its own copy.
 */
export default async function setup(project: TestProject): Promise<void> {
  const hash = createHash('sha256');
  hash.update(JSON.parse(readFileSync(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8')).version);
  for (const file of readdirSync(migrationsFolder, { recursive: true }).map(String).sort()) {
    if (file.endsWith('.sql') || file.endsWith('.json')) hash.update(readFileSync(join(migrationsFolder, file)));
  }
  const path = join(tmpdir(), `auth-pglite-template-${hash.digest('hex').slice(0, 16)}.tar.gz`);
  if (!existsSync(path)) {
    const pg = await PGlite.create();
    await migratePglite(pg);
    const dump = await pg.dumpDataDir('gzip');
    await pg.close();
    writeFileSync(`${path}.${process.pid}`, Buffer.from(await dump.arrayBuffer()));
    renameSync(`${path}.${process.pid}`, path);
  }
  project.provide('pgliteTemplate', path);
}
