import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, onTestFinished } from 'vitest';
import { freePort } from './free-port';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** How long a server may take to say it listens: start-ups are slow on a loaded machine. */
export const READY_TIMEOUT_MS = 90_000;
/**
 * How long a stopped server has to exit before it is killed. It gives requests in flight 10 s on
 * SIGTERM and then closes its database; on a loaded machine that takes a while, and a SIGKILL
 * before it ends would look like a failed shutdown.
 */
const GRACE_MS = 30_000;

/*
 * Every process started here is tracked until it exits, and killed (its whole process group,
 * SIGKILL) when the test that started it finishes, when the file's tests are done, and when this
 * process exits, so a failed or timed-out test never leaves a server running.
 */
const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function killAll(): void {
  for (const child of running) killGroup(child, 'SIGKILL');
}

process.once('exit', killAll);
afterAll(async () => {
  const children = [...running];
  killAll();
  await Promise.all(children.map((child) => exitOf(child)));
});

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Spawns the server entry in a process group of its own, tracked until it exits. */
function spawnServer(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/node.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  try {
    // Started inside a test: killed when that test ends, whatever its outcome (a timeout too).
    onTestFinished(() => killGroup(child, 'SIGKILL'));
  } catch {
    // Started in a hook: the file's afterAll above kills it.
  }
  return child;
}

export interface RunningServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** `kill -9`: no shutdown at all. Resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * Starts the real Node server (`src/entry/node.ts`, as `npm start` does) and waits until it
 * says it listens. `port` defaults to a free one.
 */
export async function startNodeServer(env: Record<string, string>, options: { port?: number } = {}): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const child = spawnServer({ HOST: '127.0.0.1', PORT: String(port), ...env });
  let output = '';
  const exited = exitOf(child);

  await new Promise<void>((resolve, reject) => {
    const fail = (message: string) => {
      cleanup();
      killGroup(child, 'SIGKILL');
      reject(new Error(`${message}:\n${output}`));
    };
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('"msg":"listening"')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`server exited with ${code ?? signal} before listening`);
    const timer = setTimeout(() => fail(`server did not start within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
  // Keep collecting after start-up (the listeners above stay attached and only append).

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    output: () => output,
    async stop() {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), GRACE_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      killGroup(child, 'SIGKILL');
      await exited;
    },
  };
}

/** Runs the server entry expecting it to refuse to start; returns its exit code and output. */
export async function runNodeServerToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawnServer(env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), READY_TIMEOUT_MS);
  const code = await exitOf(child);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
