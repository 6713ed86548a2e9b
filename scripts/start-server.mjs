// `npm start`: runs the Node server from one JavaScript bundle of src/ and its dependencies, built
// with esbuild when it is missing or older than any file it is built from. Loading one file takes
// about half the time of resolving and reading the hundreds of modules of node_modules, and no
// TypeScript loader runs at start. PGlite stays outside the bundle: it loads its WebAssembly and
// data files from beside its own module. `node --import tsx src/entry/node.ts` (npm run dev, the
// tests) runs the same code from source.
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
    // The CommonJS dependencies (nodemailer …) require Node's built-in modules.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  renameSync(partial, bundle);
}

await import(pathToFileURL(bundle).href);
