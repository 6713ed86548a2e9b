import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of DESIGN.md, read from the import statements of src/:
 * entry → app → http → domain → db / ports, no arrow back up, and no cycle between the modules
 * of src/domain (a folder, or a single file, is one module).
 */

const ROOT = resolve(__dirname, '..');
const SRC = join(ROOT, 'src');

interface Import {
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** The src/ file it names (relative to the repository), or null for a package. */
  target: string | null;
  /** `import type …` / `export type … from`: erased at build time. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

// Static imports and re-exports (`import … from`, `import type …`, `import 'x'`, `export … from`)
// at the start of a line, and dynamic `import('x')`.
const STATIC = /^\s*(?:import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*()['"]([^'"]+)['"]\s*\)/g;

function resolveTarget(fromFile: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(fromFile), specifier);
  const candidate = [base, `${base}.ts`, join(base, 'index.ts')].find((path) => existsSync(path) && statSync(path).isFile());
  if (!candidate) throw new Error(`${relative(ROOT, fromFile)}: cannot resolve ${specifier}`);
  return relative(ROOT, candidate);
}

export function readImports(files: string[]): Import[] {
  return files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(STATIC), ...text.matchAll(DYNAMIC)].map(([, type, specifier]) => ({
      from: relative(ROOT, file),
      specifier: specifier!,
      target: resolveTarget(file, specifier!),
      typeOnly: Boolean(type),
    }));
  });
}

/** The layer of a src/ file; a lower layer never imports a higher one. */
function layerOf(file: string): number {
  const path = file.replace(/^src\//, '');
  if (path.startsWith('entry/')) return 0;
  if (path === 'app.ts' || path === 'client.ts') return 1;
  if (path.startsWith('http/')) return 2;
  if (path.startsWith('domain/')) return 3;
  // The dependency bag and configuration, shared by the domain and everything above it.
  if (path === 'deps.ts' || path === 'config.ts') return 4;
  if (path.startsWith('db/') || path.startsWith('ports/')) return 5;
  // Mail templates: pure functions of what a mail says, used by the domain.
  if (path.startsWith('mail/')) return 5;
  throw new Error(`${file}: no layer; add it to layerOf`);
}

/** The domain module of a file under src/domain: its folder, or the file itself at the top. */
function domainModule(file: string): string | null {
  const match = /^src\/domain\/([^/]+?)(?:\.ts)?(?:\/|$)/.exec(file);
  return match ? match[1]! : null;
}

/** Every cycle's members (strongly connected components of more than one node, or a self-loop). */
export function findCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];

  const visit = (node: string): void => {
    indices.set(node, index);
    lowlinks.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        lowlinks.set(node, Math.min(lowlinks.get(node)!, lowlinks.get(next)!));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node)!, indices.get(next)!));
      }
    }
    if (lowlinks.get(node) !== indices.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return cycles;
}

const isPackage = (specifier: string, name: string) => specifier === name || specifier.startsWith(`${name}/`);
/** Node-only imports: the runtime's built-ins, the Node HTTP adapter, the embedded database. */
const NODE_ONLY = (specifier: string) =>
  specifier.startsWith('node:') || isPackage(specifier, '@hono/node-server') || isPackage(specifier, '@electric-sql/pglite');
/** The Node-only files below src/entry: opening the embedded database and running migrations. */
const NODE_ONLY_FILES = new Set(['src/db/pglite.ts', 'src/db/migrate.ts']);

const imports = readImports(sourceFiles(SRC));
const describeImport = (i: Import) => `${i.from} → ${i.specifier}`;

describe('architecture', () => {
  it('reads the import graph of src/', () => {
    // A reader that found nothing would pass every rule below.
    expect(imports.length).toBeGreaterThan(200);
    expect(imports).toContainEqual({
      from: 'src/http/routes/sessions.ts',
      specifier: '../../domain/sign-in/sign-in',
      target: 'src/domain/sign-in/sign-in.ts',
      typeOnly: false,
    });
    expect(imports.some((i) => i.from === 'src/http/present.ts' && i.target === 'src/db/schema/index.ts' && i.typeOnly)).toBe(true);
    expect(imports.some((i) => i.from === 'src/domain/passkeys/passkeys.ts' && i.specifier === '@simplewebauthn/server')).toBe(true);
  });

  it('finds cycles, and only cycles', () => {
    const graph = (edges: [string, string][]) => {
      const map = new Map<string, Set<string>>();
      for (const [a, b] of edges) {
        map.set(a, (map.get(a) ?? new Set()).add(b));
        if (!map.has(b)) map.set(b, new Set());
      }
      return map;
    };
    expect(findCycles(graph([['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']]))).toEqual([['a', 'b', 'c']]);
    expect(findCycles(graph([['a', 'a']]))).toEqual([['a']]);
    expect(findCycles(graph([['a', 'b'], ['a', 'c'], ['b', 'c']]))).toEqual([]);
  });

  it('has no cycle between domain modules', () => {
    const graph = new Map<string, Set<string>>();
    const examples = new Map<string, string>();
    for (const i of imports) {
      const from = domainModule(i.from);
      const to = i.target && domainModule(i.target);
      if (!from) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      if (!to || to === from) continue;
      graph.get(from)!.add(to);
      examples.set(`${from} → ${to}`, describeImport(i));
    }
    const cycles = findCycles(graph).map((members) => ({
      members,
      edges: [...examples].filter(([edge]) => members.some((m) => edge.startsWith(`${m} →`)) && members.some((m) => edge.endsWith(`→ ${m}`))).map(([, example]) => example),
    }));
    expect(cycles).toEqual([]);
    expect(graph.size).toBeGreaterThan(10);
  });

  it('never imports a higher layer', () => {
    const upward = imports.filter((i) => i.target && layerOf(i.target) < layerOf(i.from)).map(describeImport);
    expect(upward).toEqual([]);
  });

  it('keeps the domain and the database layer free of HTTP, entries and Node', () => {
    const offending = imports
      .filter((i) => /^src\/(domain|db)\//.test(i.from))
      .filter(
        (i) =>
          (i.target !== null && /^src\/(http\/|entry\/|app\.ts$)/.test(i.target)) ||
          isPackage(i.specifier, 'hono') ||
          i.specifier.startsWith('node:'),
      )
      .filter((i) => !NODE_ONLY_FILES.has(i.from) || !i.specifier.startsWith('node:'))
      .map(describeImport);
    expect(offending).toEqual([]);
  });

  it('keeps SQL out of src/http: no drizzle-orm, and src/db for its types only', () => {
    const sql = imports
      .filter((i) => i.from.startsWith('src/http/'))
      .filter((i) => isPackage(i.specifier, 'drizzle-orm') || (i.target?.startsWith('src/db/') && !i.typeOnly))
      .map(describeImport);
    expect(sql).toEqual([]);
  });

  it('imports Node-only code only in src/entry, and the Node-only database files only from there', () => {
    const nodeOnly = imports
      .filter((i) => !i.from.startsWith('src/entry/') && !NODE_ONLY_FILES.has(i.from))
      .filter((i) => NODE_ONLY(i.specifier))
      .map(describeImport);
    expect(nodeOnly).toEqual([]);
    const reachingNodeOnlyFiles = imports
      .filter((i) => i.target !== null && NODE_ONLY_FILES.has(i.target) && !i.from.startsWith('src/entry/'))
      .map(describeImport);
    expect(reachingNodeOnlyFiles).toEqual([]);
  });
});
