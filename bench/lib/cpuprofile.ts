import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  share: number;
}

/** Where a script URL lives, shortened: `src/…`, `<package>/…`, `node:…`. */
function shorten(url: string, root: string): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/** The package (or `src`, `node`, `(v8)`) a script URL belongs to. */
function owner(where: string): string {
  if (!where) return '(v8 / native)';
  if (where.startsWith('node:')) return 'node (core)';
  if (where.startsWith('src/')) return `src/${where.split('/')[1]}`;
  const parts = where.split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * Self time by function and by package, from the samples taken between `fromUs` and `toUs`
 * (the profile's clock, CLOCK_MONOTONIC in microseconds, the same as `process.hrtime` here).
 * Idle time is left out of the shares.
 */
export function summariseProfile(file: string, root: string, window?: { fromUs: number; toUs: number }) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
  // The packages on a node's stack, each once (its own frame and its callers').
  const stackPackages = new Map<number, Set<string>>();
  const packagesOn = (id: number): Set<string> => {
    let found = stackPackages.get(id);
    if (found) return found;
    const frame = byId.get(id)!;
    const parent = parentOf.get(id);
    found = new Set(parent === undefined ? [] : packagesOn(parent));
    if (frame.url) found.add(owner(shorten(frame.url, root)));
    stackPackages.set(id, found);
    return found;
  };
  const collect = (window?: { fromUs: number; toUs: number }) => {
    const self = new Map<string, { name: string; where: string; us: number }>();
    const inclusive = new Map<string, number>();
    let t = profile.startTime;
    let total = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      // A sample's time is the gap to the next one.
      const us = profile.timeDeltas[i + 1] ?? 0;
      if (window && (t < window.fromUs || t > window.toUs)) continue;
      const frame = byId.get(profile.samples[i]!);
      if (!frame || frame.functionName === '(idle)') continue;
      const where = frame.url ? `${shorten(frame.url, root)}:${frame.lineNumber + 1}` : '';
      const name = frame.functionName || '(anonymous)';
      const key = `${name} ${where}`;
      const entry = self.get(key) ?? { name, where, us: 0 };
      entry.us += us;
      self.set(key, entry);
      for (const name of packagesOn(profile.samples[i]!)) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      total += us;
    }
    return { self, inclusive, total };
  };
  let { self, inclusive, total } = collect(window);
  const windowed = Boolean(window) && total > 0;
  if (!windowed) ({ self, inclusive, total } = collect());

  const functions: SelfTime[] = [...self.values()]
    .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, share: total ? e.us / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
  const packages = new Map<string, number>();
  for (const f of functions) {
    const key = f.name.startsWith('(') && !f.where ? f.name : owner(f.where.replace(/:\d+$/, ''));
    packages.set(key, (packages.get(key) ?? 0) + f.ms);
  }
  return {
    windowed,
    totalMs: total / 1000,
    functions,
    packages: [...packages.entries()].map(([name, ms]) => ({ name, ms, share: total ? (ms * 1000) / total : 0 })).sort((a, b) => b.ms - a.ms),
    /** Time with the package anywhere on the stack (what it and everything it calls cost); shares overlap. */
    inclusive: [...inclusive.entries()].map(([name, us]) => ({ name, ms: us / 1000, share: total ? us / total : 0 })).sort((a, b) => b.ms - a.ms),
  };
}
