// Shared parts of the browser end-to-end tests: a loopback SMTP server that keeps the mails, the
// real Node server (`node --import tsx src/entry/node.ts`) as a child process on a free port with
// its own database (embedded PGlite, or a fresh PostgreSQL database when TEST_DATABASE_URL is
// set), a headless Chromium, and a CDP virtual authenticator.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import postgres from 'postgres';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../helpers/free-port';
import { databaseUrl } from '../helpers/postgres-url';

const CHROMIUM = '/usr/bin/chromium';
export const root = resolve(import.meta.dirname, '../..');


interface Mail {
  to: string;
  text: string;
}

export interface Stack {
  /** The auth server's origin, `http://localhost:<port>`. */
  origin: string;
  browser: Browser;
  /** Everything the server wrote to stdout and stderr so far (JSON log lines). */
  serverOutput(): string;
  /** The code in the next unread mail to `email`. */
  codeMailedTo(email: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts SMTP, the server (with `env` added to its environment) and Chromium. */
export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const mails: Mail[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  let output = '';

  try {
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), text: parsed.text ?? '' });
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((done) => smtp.listen(0, '127.0.0.1', done));
    cleanups.push(() => new Promise<void>((done) => smtp.close(() => done())));
    const smtpPort = (smtp.server.address() as { port: number }).port;

    const port = await freePort();
    const origin = `http://localhost:${port}`;
    const serverEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      ORIGIN: origin,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MAIL_FROM: 'auth@localhost',
      ...env,
    };
    if (process.env.TEST_DATABASE_URL) {
      const name = `auth_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
      const admin = postgres(process.env.TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`CREATE DATABASE ${name}`);
      cleanups.push(async () => {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      });
      serverEnv.DATABASE_URL = databaseUrl(name);
      serverEnv.AUTH_SECRET = randomBytes(32).toString('hex');
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), 'auth-e2e-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      serverEnv.DATA_DIR = dataDir;
    }

    const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/entry/node.ts'], {
      cwd: root,
      env: serverEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(async () => {
      if (server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise((done) => server.once('exit', done));
      server.kill('SIGTERM');
      await exited;
    });
    await new Promise<void>((ready, failed) => {
      const onOutput = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('"msg":"listening"')) ready();
      };
      server.stdout!.on('data', onOutput);
      server.stderr!.on('data', onOutput);
      server.once('exit', (code) => failed(new Error(`server exited with ${code}:\n${output}`)));
      setTimeout(() => failed(new Error(`server did not start:\n${output}`)), 60_000).unref();
    });

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    cleanups.push(() => browser.close());

    return {
      origin,
      browser,
      serverOutput: () => output,
      async codeMailedTo(email) {
        for (let waited = 0; waited < 10_000; waited += 50) {
          const index = mails.findIndex((m) => m.to === email);
          const code = mails[index]?.text.match(/\b(\d{6})\b/)?.[1];
          mails.splice(index, index === -1 ? 0 : 1);
          if (code) return code;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`no code mailed to ${email}`);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A platform authenticator that holds discoverable credentials and verifies the user silently. */
export async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}
