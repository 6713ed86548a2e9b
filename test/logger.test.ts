import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createJsonLogger, type LogLevel } from '../src/ports/logger';

function recording() {
  const lines: { line: string; level: LogLevel }[] = [];
  return { lines, log: createJsonLogger((line, level) => void lines.push({ line, level })) };
}

describe('JSON logger', () => {
  it('writes time, level, msg and then the fields, as one JSON object', () => {
    const { lines, log } = recording();
    log.log('info', 'request', { requestId: 'abc', method: 'GET', path: '/a"b\\c\u2028', status: 200, durationMs: 1.25, gone: undefined });
    log.log('error', 'he said "no"\n');
    log.log('warn', 'empty', {});
    expect(lines.map((l) => l.level)).toEqual(['info', 'error', 'warn']);
    const parsed = lines.map((l) => JSON.parse(l.line));
    expect(Object.keys(parsed[0])).toEqual(['time', 'level', 'msg', 'requestId', 'method', 'path', 'status', 'durationMs']);
    expect(parsed[0]).toEqual({ time: expect.any(String), level: 'info', msg: 'request', requestId: 'abc', method: 'GET', path: '/a"b\\c\u2028', status: 200, durationMs: 1.25 });
    expect(new Date(parsed[0].time).toISOString()).toBe(parsed[0].time);
    expect(parsed[1]).toEqual({ time: expect.any(String), level: 'error', msg: 'he said "no"\n' });
    expect(parsed[2]).toEqual({ time: expect.any(String), level: 'warn', msg: 'empty' });
    for (const { line } of lines) expect(line).not.toContain('\n');
  });
});

const nodeLog = fileURLToPath(new URL('../src/entry/node-log.ts', import.meta.url));

/** Runs `body` in a real Node process with the batched writer as `write`; returns its stdout and stderr. */
function run(body: string): { stdout: string; stderr: string } {
  const script = `const { createBatchedLogWrite } = await import(${JSON.stringify(nodeLog)});\nconst write = createBatchedLogWrite();\n${body}`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the child failed (${child.status}): ${child.stderr}`);
  return { stdout: child.stdout, stderr: child.stderr };
}

describe('batched log writes (Node)', () => {
  it('write the lines of one turn of the event loop at once, in order, errors to stderr', () => {
    const { stdout, stderr } = run(`
      const writes = [];
      const real = process.stdout.write.bind(process.stdout);
      process.stdout.write = (chunk, ...rest) => (writes.push(chunk), real(chunk, ...rest));
      for (let i = 0; i < 100; i++) write('{"n":' + i + '}', 'info');
      write('{"oops":true}', 'error');
      const before = writes.length;
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      real(JSON.stringify({ before, after: writes.length }) + '\\n');
    `);
    const lines = stdout.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toEqual({ before: 0, after: 1 });
    expect(lines.slice(0, -1)).toEqual(Array.from({ length: 100 }, (_, i) => `{"n":${i}}`));
    expect(stderr).toBe('{"oops":true}\n');
  });

  it('write what is still gathered when the process exits', () => {
    const { stdout } = run(`
      for (let i = 0; i < 1000; i++) write('{"n":' + i + '}', 'info');
      process.exit(0);
    `);
    expect(stdout.trim().split('\n')).toEqual(Array.from({ length: 1000 }, (_, i) => `{"n":${i}}`));
  });
});
