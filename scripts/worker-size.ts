/**
 * `npm run size:worker`: bundles the worker exactly as `wrangler deploy` would (`--dry-run`), prints
 * its raw and gzipped size, and fails when a Node-only part of the project reached the bundle.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const LIMIT_BYTES = 1024 * 1024;
/** Inputs that must never be in the worker: Node entries, the embedded database, the migrator. */
const FORBIDDEN = [
  /node_modules\/@electric-sql\/pglite\//,
  /node_modules\/@hono\/node-server\//,
  /node_modules\/drizzle-orm\/.*migrator/,
  /node_modules\/drizzle-kit\//,
  /^src\/db\/(pglite|migrate)\.ts$/,
  /^src\/entry\/(?!worker\.ts$)/,
];

const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'auth-worker-size-'));
try {
  const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
  const build = spawnSync(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', out, '--metafile', join(out, 'meta.json')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (build.status !== 0) {
    process.stderr.write(build.stdout + build.stderr);
    process.exit(build.status ?? 1);
  }

  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(out)) {
    if (!/\.(m?js|wasm)$/.test(file)) continue;
    const bytes = readFileSync(join(out, file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }

  const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as {
    inputs: Record<string, { bytes: number; imports: { path: string; external?: boolean }[] }>;
  };
  const inputs = Object.entries(meta.inputs).map(([path, input]) => ({ path: relative(root, join(root, path)), ...input }));
  const byPackage = new Map<string, number>();
  for (const input of inputs) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input.path)?.[1] ?? 'src (this project)';
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytes);
  }
  const nodeImports = new Map<string, Set<string>>();
  for (const input of inputs) {
    for (const imp of input.imports) {
      if (!imp.external || !imp.path.startsWith('node:')) continue;
      const who = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input.path)?.[1] ?? input.path;
      if (!nodeImports.has(imp.path)) nodeImports.set(imp.path, new Set());
      nodeImports.get(imp.path)!.add(who);
    }
  }

  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`worker bundle: ${kib(raw)} raw, ${kib(gzip)} gzipped (limit ${kib(LIMIT_BYTES)} gzipped)`);
  console.log('\ninputs by package (before minification):');
  for (const [pkg, bytes] of [...byPackage].sort((a, b) => b[1] - a[1])) console.log(`  ${kib(bytes).padStart(10)}  ${pkg}`);
  console.log('\nnode:* modules imported (provided by workerd under nodejs_compat):');
  for (const [mod, who] of [...nodeImports].sort()) console.log(`  ${mod.padEnd(20)} ${[...who].sort().join(', ')}`);

  const forbidden = inputs.filter((i) => FORBIDDEN.some((re) => re.test(i.path))).map((i) => i.path);
  // The project's own code may reach Node built-ins only through the worker entry.
  const ownNode = inputs.filter((i) => i.path.startsWith('src/') && i.path !== 'src/entry/worker.ts' && i.imports.some((x) => x.path.startsWith('node:')));
  let failed = false;
  if (forbidden.length > 0) {
    console.error(`\nNode-only code reached the worker bundle:\n  ${forbidden.join('\n  ')}`);
    failed = true;
  }
  if (ownNode.length > 0) {
    console.error(`\nProject files importing node:* reached the worker bundle:\n  ${ownNode.map((i) => i.path).join('\n  ')}`);
    failed = true;
  }
  if (gzip > LIMIT_BYTES) {
    console.error(`\nThe gzipped bundle is over ${kib(LIMIT_BYTES)}.`);
    failed = true;
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  rmSync(out, { recursive: true, force: true });
}
