import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import postgres from 'postgres';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { databaseUrl } from '../helpers/postgres-url';

const CHROMIUM = '/usr/bin/chromium';
const root = resolve(import.meta.dirname, '../..');

interface Mail {
  to: string;
  text: string;
}

const mails: Mail[] = [];
let smtp: SMTPServer;
let server: ChildProcess;
let serverOutput = '';
let dataDir: string | undefined;
let database: { name: string; admin: postgres.Sql } | undefined;
let browser: Browser;
let origin: string;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/** A loopback SMTP server that keeps every mail it receives. */
async function startSmtp(): Promise<number> {
  smtp = new SMTPServer({
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
  return (smtp.server.address() as { port: number }).port;
}

/** The code in the next unread mail to `email`. */
async function codeMailedTo(email: string): Promise<string> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    const index = mails.findIndex((m) => m.to === email);
    const code = mails[index]?.text.match(/\b(\d{6})\b/)?.[1];
    mails.splice(index, index === -1 ? 0 : 1);
    if (code) return code;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no code mailed to ${email}`);
}

/** The real server (`node --import tsx src/entry/node.ts`), resolved once it logs that it listens. */
async function startServer(env: Record<string, string>): Promise<void> {
  server = spawn(process.execPath, ['--import', 'tsx', 'src/entry/node.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((ready, failed) => {
    const onOutput = (chunk: Buffer) => {
      serverOutput += chunk.toString();
      if (serverOutput.includes('"msg":"listening"')) ready();
    };
    server.stdout!.on('data', onOutput);
    server.stderr!.on('data', onOutput);
    server.once('exit', (code) => failed(new Error(`server exited with ${code}:\n${serverOutput}`)));
    setTimeout(() => failed(new Error(`server did not start:\n${serverOutput}`)), 60_000).unref();
  });
}

beforeAll(async () => {
  const smtpPort = await startSmtp();
  const port = await freePort();
  origin = `http://localhost:${port}`;
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    ORIGIN: origin,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    MAIL_FROM: 'auth@localhost',
  };
  if (process.env.TEST_DATABASE_URL) {
    const name = `auth_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = postgres(process.env.TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    database = { name, admin };
    env.DATABASE_URL = databaseUrl(name);
    env.AUTH_SECRET = randomBytes(32).toString('hex');
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'auth-e2e-'));
    env.DATA_DIR = dataDir;
  }
  await startServer(env);

  browser = await chromium.launch({
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
});

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((done) => server.once('exit', done));
    server.kill('SIGTERM');
    await exited;
  }
  await new Promise<void>((done) => (smtp ? smtp.close(() => done()) : done()));
  if (database) {
    await database.admin.unsafe(`DROP DATABASE IF EXISTS ${database.name} WITH (FORCE)`);
    await database.admin.end();
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A platform authenticator that holds discoverable credentials and verifies the user silently. */
async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
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

const status = (page: Page) => page.locator('#status');

it('signs in with a code, adds a passkey, signs out and signs back in with the passkey', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);

  await page.goto(`${origin}/`);
  await expect.poll(() => status(page).textContent()).toBe('Ready.');

  // Code sign-in, the code read from the mail the server sent over SMTP.
  const email = `e2e-${randomBytes(4).toString('hex')}@example.com`;
  await page.fill('#email', email);
  await page.click('#request-code button');
  await expect.poll(() => status(page).textContent()).toContain(`Code sent to ${email}`);
  await page.fill('#code', await codeMailedTo(email));
  await page.click('#code-sign-in button');
  await page.locator('#signed-in').waitFor({ state: 'visible' });
  expect(await page.textContent('#who')).toBe(email);

  // Add a passkey: navigator.credentials.create() answered by the virtual authenticator.
  await page.fill('#passkey-name', 'E2E laptop');
  await page.click('#add-passkey button');
  await expect.poll(() => status(page).textContent()).toBe('Passkey "E2E laptop" added.');
  await expect.poll(() => page.locator('#passkeys li').first().textContent()).toContain('E2E laptop');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]!.isResidentCredential).toBe(true);
  expect(credentials[0]!.rpId).toBe('localhost');

  // Sign out, then usernameless sign-in with the passkey.
  await page.click('#sign-out');
  await page.locator('#signed-out').waitFor({ state: 'visible' });
  await page.click('#passkey-sign-in');
  await expect.poll(() => status(page).textContent()).toBe('Signed in with a passkey.');
  await page.locator('#signed-in').waitFor({ state: 'visible' });
  expect(await page.textContent('#who')).toBe(email);

  const current = await page.evaluate(async () => {
    const res = await fetch('/auth/sessions/current', { credentials: 'include' });
    return { status: res.status, body: await res.json() };
  });
  expect(current.status).toBe(200);
  expect(current.body.session.method).toBe('passkey');
  expect(current.body.user.email).toBe(email);
  expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]!.signCount).toBeGreaterThan(0);

  // A second device signs in with a code; the first one sees it and can revoke it.
  const other = await browser.newPage();
  await other.goto(`${origin}/`);
  await expect.poll(() => status(other).textContent()).toBe('Ready.');
  await other.fill('#email', email);
  await other.click('#request-code button');
  await expect.poll(() => status(other).textContent()).toContain('Code sent');
  await other.fill('#code', await codeMailedTo(email));
  await other.click('#code-sign-in button');
  await other.locator('#signed-in').waitFor({ state: 'visible' });
  await page.reload();
  await expect.poll(() => page.locator('#sessions li').count()).toBe(2);

  const outputDir = join(root, 'test-output');
  mkdirSync(outputDir, { recursive: true });
  const screenshot = join(outputDir, 'passkey-signed-in.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot of the signed-in demo page: ${screenshot}`);

  await page.locator('#sessions li', { hasText: 'otp' }).getByRole('button', { name: 'Revoke' }).click();
  await expect.poll(() => status(page).textContent()).toBe('Session revoked.');
  await expect.poll(() => page.locator('#sessions li').count()).toBe(1);
  await other.reload();
  await other.locator('#signed-out').waitFor({ state: 'visible' });

  await page.locator('#passkeys li', { hasText: 'E2E laptop' }).getByRole('button', { name: 'Remove' }).click();
  await expect.poll(() => status(page).textContent()).toBe('Passkey "E2E laptop" removed.');
  await expect.poll(() => page.locator('#passkeys li').first().textContent()).toContain('No passkeys yet.');

  expect(errors).toEqual([]);
});
