import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const outDir = join(root, 'bench', 'out');

/** Every child still running; all of them are killed when the bench exits, however it exits. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    process.exit(130);
  });
}

export interface ServerSpec {
  /** Short name; its output goes to bench/out/<log>.log. */
  name: string;
  log?: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  port: number;
  /** Path that answers 200 once the server is ready. */
  readyPath: string;
  /** Give up waiting for readiness after this long. */
  timeoutMs?: number;
}

export interface Server {
  name: string;
  pid: number;
  url: string;
  /** Milliseconds from spawn to the first 200 on the ready path. */
  startMs: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a server process and polls its ready path until it answers 200 (no fixed sleep: the
 * next poll goes out as soon as the previous one failed, 5 ms apart). Its stdout and stderr go
 * to a file under bench/out, so the bench does not spend its own CPU reading the server's logs.
 */
export async function startServer(spec: ServerSpec): Promise<Server> {
  mkdirSync(outDir, { recursive: true });
  const logFile = join(outDir, `${spec.log ?? spec.name}.log`);
  const fd = openSync(logFile, 'w');
  const started = performance.now();
  const child = spawn(process.execPath, spec.args, {
    cwd: spec.cwd ?? root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(spec.port), ...spec.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const output = () => readFileSync(logFile, 'utf8');
  const url = `http://127.0.0.1:${spec.port}`;

  const deadline = started + (spec.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${spec.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output().slice(-4000)}`);
    }
    const ok = await fetch(`${url}${spec.readyPath}`, { signal: AbortSignal.timeout(2000) }).then(
      async (res) => {
        await res.arrayBuffer();
        return res.status === 200;
      },
      () => false,
    );
    if (ok) break;
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${spec.name} was not ready within ${spec.timeoutMs ?? 60_000} ms:\n${output().slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const startMs = performance.now() - started;

  return {
    name: spec.name,
    pid: child.pid!,
    url,
    startMs,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
