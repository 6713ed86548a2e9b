import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import postgres from 'postgres';
import { SMTPServer } from 'smtp-server';
import type { TestProject } from 'vitest/node';
import { migratePostgres } from '../../src/db/migrate';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the worker under `wrangler dev --local`. */
    workerUrl: string;
    /** Folder where the loopback SMTP server writes each received mail as JSON. */
    mailDir: string;
    /** The worker's own database (for assertions on stored rows). */
    workerDatabaseUrl: string;
    /** Everything wrangler and the worker printed (console.log of the worker included). */
    workerLog: string;
    /** The same worker started without AUTH_SECRET, and its output. */
    misconfiguredWorkerUrl: string;
    misconfiguredWorkerLog: string;
  }
}

interface ParsedAddress {
  value: { address?: string }[];
  text: string;
}
// mailparser ships no types; this is the part used here (loaded without a global module declaration).
const { simpleParser } = createRequire(import.meta.url)('mailparser') as {
  simpleParser(source: NodeJS.ReadableStream): Promise<{ to?: ParsedAddress | ParsedAddress[]; from?: ParsedAddress; subject?: string; text?: string }>;
};

const ADMIN_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const WORKER_AUTH_SECRET = 'b'.repeat(64);
/** The SPA origin the test worker allows (its ORIGIN). */
const WORKER_ORIGIN = 'http://localhost:5173';
const READY_TIMEOUT_MS = 90_000;

/** The same server as `admin`, another database; with a password, which wrangler's Hyperdrive emulation insists on. */
function databaseUrl(name: string, withPassword = false): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  // Under `trust` authentication PostgreSQL ignores it; with a real password set it in TEST_DATABASE_URL.
  if (withPassword && !url.password) url.password = 'postgres';
  return url.toString();
}

/**
 * Real parts end to end: a fresh migrated PostgreSQL database, a loopback SMTP server that
 * stores every mail, and the worker itself under `wrangler dev --local` (workerd) with its
 * Hyperdrive binding pointed at that database and SMTP_URL at that server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((e) => console.error('teardown:', e));
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'auth-worker-test-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    // 1. Database.
    const name = `auth_worker_test_${process.pid}`;
    const admin = postgres(ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.unsafe(`CREATE DATABASE ${name}`);
    } catch (error) {
      await admin.end();
      throw new Error(`test:worker needs PostgreSQL at ${ADMIN_URL} (set TEST_DATABASE_URL): ${String(error)}`);
    }
    cleanups.push(async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    await migratePostgres(databaseUrl(name));

    // 2. Mail: every message the worker sends lands here as one JSON file.
    const mailDir = join(dir, 'mail');
    mkdirSync(mailDir);
    let received = 0;
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      // Lets a test see how the worker handles a mail server that refuses a message.
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('bounce-')) callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
        else callback();
      },
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          (mail) => {
            const to = (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((a) => a.value.map((v) => v.address));
            const file = join(mailDir, `${String(++received).padStart(6, '0')}.json`);
            // Written aside and renamed into place, so a reader never sees half a file.
            writeFileSync(`${file}.tmp`, JSON.stringify({ to, from: mail.from?.text, subject: mail.subject, text: mail.text }));
            renameSync(`${file}.tmp`, file);
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    const smtpPort = await new Promise<number>((resolve, reject) => {
      smtp.once('error', reject);
      smtp.listen(0, '127.0.0.1', () => resolve((smtp.server.address() as { port: number }).port));
    });
    cleanups.push(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

    // 3. The worker, and a second one without AUTH_SECRET (started together to save time).
    // Secrets go in an --env-file of their own, so a developer's .dev.vars (or .env) is never read.
    const secrets = join(dir, 'worker.env');
    writeFileSync(secrets, `AUTH_SECRET=${WORKER_AUTH_SECRET}\nSMTP_URL=smtp://127.0.0.1:${smtpPort}\n`);
    const noSecrets = join(dir, 'empty.env');
    writeFileSync(noSecrets, '');
    const hyperdrive = { CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: databaseUrl(name, true) };
    const workerLog = join(dir, 'wrangler-output.log');
    const [worker, misconfigured] = await Promise.allSettled([
      startWrangler(dir, 'main', workerLog, [
        // Exposes /__scheduled?cron=… so that a test can fire the cron trigger.
        '--test-scheduled',
        '--env-file', secrets,
        '--var', 'MAIL_FROM:auth@example.com',
        '--var', `ORIGIN:${WORKER_ORIGIN}`,
        '--var', 'ADMIN_EMAILS:boss@example.com',
      ], hyperdrive),
      startWrangler(dir, 'misconfigured', join(dir, 'misconfigured-output.log'), ['--env-file', noSecrets], hyperdrive),
    ]);
    for (const started of [worker, misconfigured]) if (started.status === 'fulfilled') cleanups.push(() => stopProcessGroup(started.value.child));
    for (const started of [worker, misconfigured]) if (started.status === 'rejected') throw started.reason;

    project.provide('workerUrl', (worker as PromiseFulfilledResult<{ url: string }>).value.url);
    project.provide('misconfiguredWorkerUrl', (misconfigured as PromiseFulfilledResult<{ url: string }>).value.url);
    project.provide('misconfiguredWorkerLog', join(dir, 'misconfigured-output.log'));
    project.provide('mailDir', mailDir);
    project.provide('workerDatabaseUrl', databaseUrl(name));
    project.provide('workerLog', workerLog);
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** Starts `wrangler dev --local` on a free port in its own process group; resolves once it answers. */
async function startWrangler(
  dir: string,
  label: string,
  logFile: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const wrangler = join(import.meta.dirname, '../../node_modules/wrangler/bin/wrangler.js');
  const child = spawn(
    process.execPath,
    [
      wrangler, 'dev', '--local', '--ip', '127.0.0.1', '--port', '0', '--inspector-port', '0',
      '--show-interactive-dev-session=false', '--persist-to', join(dir, `state-${label}`), '--log-level', 'log',
      ...args,
    ],
    {
      cwd: join(import.meta.dirname, '../..'),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...env,
        WRANGLER_SEND_METRICS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_LOG_PATH: join(dir, `wrangler-logs-${label}`),
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
    },
  );
  let output = '';
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString();
    appendFileSync(logFile, chunk);
    // Mirror the worker's console (errors, "mail failed" lines) when debugging: WORKER_TEST_LOG=1.
    if (process.env.WORKER_TEST_LOG) process.stderr.write(chunk);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);

  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`wrangler dev was not ready within ${READY_TIMEOUT_MS / 1000}s`)), READY_TIMEOUT_MS);
      const check = () => {
        const match = /Ready on (http:\/\/[\d.]+:\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`wrangler dev exited with ${code}`));
      });
    });
    // "Ready" is printed as the socket opens; wait until the worker itself answers.
    for (let i = 0; ; i++) {
      try {
        const res = await fetch(`${url}/auth/sessions`);
        // The worker's own JSON errors (401, or 500 when misconfigured on purpose) mean it runs.
        if ((await res.text()).startsWith('{"error":')) break;
        throw new Error(`GET /auth/sessions answered ${res.status}`);
      } catch (error) {
        if (i >= 50) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return { child, url };
  } catch (error) {
    await stopProcessGroup(child);
    throw new Error(`${label} worker: ${(error as Error).message}\n--- wrangler output ---\n${output}`);
  }
}

/** wrangler starts workerd and esbuild as children: stop the whole group, politely first. */
async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  // workerd may outlive wrangler's node process for a moment.
  signal('SIGKILL');
}
