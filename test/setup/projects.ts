import type { TestProjectInlineConfiguration } from 'vitest/config';

/**
 * One vitest project per database driver: embedded PGlite always, PostgreSQL again when
 * TEST_DATABASE_URL is set. `postgresOnly` files mean something only on PostgreSQL (two server
 * processes, a proxy in front of it), so only that project includes them.
 */
export function driverProjects(files: { include: string[]; exclude?: string[]; postgresOnly?: string[] }): TestProjectInlineConfiguration[] {
  const project = (driver: 'pglite' | 'postgres', include: string[]): TestProjectInlineConfiguration => ({
    extends: true,
    test: {
      name: driver,
      include,
      exclude: files.exclude ?? [],
      env: { TEST_DRIVER: driver },
      globalSetup: [`test/setup/${driver}-template.ts`],
    },
  });
  const projects = [project('pglite', files.include)];
  if (process.env.TEST_DATABASE_URL) projects.push(project('postgres', [...files.include, ...(files.postgresOnly ?? [])]));
  return projects;
}
