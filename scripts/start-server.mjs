// `npm start`: runs the Node server from one JavaScript bundle of src/ and its dependencies, built
// with esbuild when it is missing or older than any file it is built from. Loading one file takes
// about half the time of resolving and reading the hundreds of modules of node_modules, and no
// TypeScript loader runs at start. PGlite stays outside the bundle: it loads its WebAssembly and
// data files from beside its own module. `node --import tsx src/entry/node.ts` (npm run dev, the
// tests) runs the same code from source.
//
// Beside the bundle it keeps dist/server/pglite-template: an embedded database created and
// migrated once, empty, which the server copies into a fresh DATA_DIR instead of creating one
// there (PGlite's initdb takes seconds; a copy, a fraction of one). It holds no secret: the
// signing key and AUTH_SECRET are made per DATA_DIR when the server starts. It is rebuilt with
// the bundle's rules, when missing or older than a migration or package-lock.json, by a start
// without DATABASE_URL.
import { execFileSync } from 'node:child_process';
import { readdirSync, renameSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Two folders below the root, as src/db/ is: a path a module resolves against its own URL
// (src/db/migrate.ts finds ../../drizzle that way) means the same file from the bundle.
const bundle = `${root}dist/server/node.js`;
const inputs = [`${root}package.json`, `${root}package-lock.json`, `${root}tsconfig.json`, ...sources(`${root}src`)];

function sources(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => `${entry.parentPath}/${entry.name}`);
}

function modified(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

const built = modified(bundle);
if (built < 0 || inputs.some((path) => modified(path) > built)) {
  const { build } = await import('esbuild');
  // Written aside and renamed into place, so that servers starting together never run half a file.
  const partial = `${bundle}.${process.pid}.tmp`;
  await build({
    entryPoints: [`${root}src/entry/node.ts`],
    outfile: partial,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@electric-sql/pglite'],
    // No comments or indentation (identifiers keep their names, for readable stack traces), and
    // ASCII only: V8 keeps a script's source in memory, twice as large once one character of it
    // is outside Latin-1.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    charset: 'ascii',
    // The CommonJS dependencies (nodemailer …) require Node's built-in modules.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  renameSync(partial, bundle);
}

const template = `${root}dist/server/pglite-template`;
const templateInputs = [`${root}package-lock.json`, ...sources(`${root}drizzle`)];
const templateBuilt = modified(`${template}/PG_VERSION`);
// Only for a server that will use the embedded database (on PostgreSQL the template is never
// read), and in a process of its own (scripts/build-pglite-template.mjs): PGlite's memory while
// it creates a database would otherwise stay in this server's process for its whole life.
const embedded = !process.env.DATABASE_URL;
if (embedded && (templateBuilt < 0 || templateInputs.some((path) => modified(path) > templateBuilt))) {
  execFileSync(process.execPath, [`${root}scripts/build-pglite-template.mjs`], { stdio: 'inherit' });
}

await import(pathToFileURL(bundle).href);
