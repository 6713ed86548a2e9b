import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** One line of the result table; empty cells print as "—". */
export interface Row {
  scenario: string;
  server: string;
  result: string;
  p50?: number;
  p99?: number;
  cpu?: number;
  dbCpu?: number;
  benchCpu?: number;
  rss?: number;
  vsPeer?: string;
  vsCeiling?: string;
}

const HEADINGS = ['scenario', 'server', 'result', 'p50 ms', 'p99 ms', 'server CPU ms/op', 'PG CPU ms/op', 'bench CPU ms/op', 'peak RSS MiB', 'this/peer', 'this/ceiling'];

const fixed = (value: number | undefined, digits: number) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));

export const rate = (perSecond: number, unit: string) => `${perSecond >= 100 ? Math.round(perSecond).toLocaleString('en-US') : perSecond.toFixed(1)} ${unit}/s`;
export const ratio = (a: number | undefined, b: number | undefined, suffix = '×') =>
  a === undefined || b === undefined || !b ? undefined : `${(a / b).toFixed(a / b >= 10 ? 1 : 2)}${suffix}`;

function cells(row: Row): string[] {
  return [row.scenario, row.server, row.result, fixed(row.p50, 1), fixed(row.p99, 1), fixed(row.cpu, 2), fixed(row.dbCpu, 2), fixed(row.benchCpu, 2), fixed(row.rss, 0), row.vsPeer ?? '—', row.vsCeiling ?? '—'];
}

/** A Markdown table, padded so that it also reads well on a terminal. */
export function markdownTable(rows: Row[]): string {
  const table = [HEADINGS, ...rows.map(cells)];
  const widths = HEADINGS.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(table[0]!), rule, ...table.slice(1).map(line)].join('\n');
}

export function machine(): { cpus: number; model: string; memoryGib: number } {
  const list = cpus();
  let model = list[0]?.model.trim() ?? '?';
  try {
    // A virtual machine may name only the brand ("AMD EPYC"); family and model say which.
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => info.match(new RegExp(`^${name}\\s*: (.*)$`, 'm'))?.[1]?.trim();
    const details = [field('cpu family') && `family ${field('cpu family')}`, field('model') && `model ${field('model')}`, Number(field('cpu MHz')) > 0 && `${Math.round(Number(field('cpu MHz')))} MHz`];
    if (/\bhypervisor\b/.test(field('flags') ?? '')) details.push('virtual machine');
    model = `${model} (${details.filter(Boolean).join(', ')})`;
  } catch {
    // not Linux: the model name alone
  }
  return { cpus: list.length, model, memoryGib: totalmem() / 1024 ** 3 };
}

const BEGIN = '<!-- bench:begin (written by npm run bench; edit outside these markers) -->';
const END = '<!-- bench:end -->';

/**
 * Puts `generated` between the bench markers of a Markdown file, keeping what is written
 * around them; a file without the markers gets `preamble` and the block.
 */
export function writeGenerated(file: string, generated: string, preamble: string): void {
  const block = `${BEGIN}\n${generated.trim()}\n${END}`;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const start = old.indexOf(BEGIN);
  const end = old.indexOf(END);
  const next = start >= 0 && end > start ? `${old.slice(0, start)}${block}${old.slice(end + END.length)}` : `${preamble.trim()}\n\n${block}\n`;
  writeFileSync(file, next);
}
