// An independent browser client on another origin than the auth server: the demo SPA served by a
// separate static server (`<html data-api="http://localhost:<auth port>">`), listed in ORIGIN, uses
// the API with CORS and credentials; a page on an origin that is not listed cannot.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demoJs, indexHtml, simpleWebAuthnBrowserJs } from '../../src/http/demo/assets';
import { freePort } from '../helpers/free-port';
import { addVirtualAuthenticator, root, startStack, type Stack } from './harness';

let stack: Stack;
let browser: Browser;
/** The auth server. */
let api: string;
/** The SPA's origin, listed in the server's ORIGIN. */
let spa: string;
/** Another origin on the same site (localhost), not listed in ORIGIN. */
let stranger: string;
const spaServers: Server[] = [];
const contexts: BrowserContext[] = [];
const outputDir = join(root, 'test-output');

/**
 * A static server for the demo SPA, as an integrator would host it: the page names the auth server
 * in `data-api`, and its content security policy lets it connect there and nowhere else.
 */
async function startSpaServer(port: number, apiOrigin: string): Promise<void> {
  const html = indexHtml.replace('<html lang="en">', `<html lang="en" data-api="${apiOrigin}">`);
  if (html === indexHtml) throw new Error('the demo page has no <html lang="en"> to put data-api on');
  const csp = `default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src ${apiOrigin}; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  const js = { 'content-type': 'text/javascript; charset=utf-8' };
  const files: Record<string, [Record<string, string>, string]> = {
    '/': [{ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp }, html],
    '/demo/demo.js': [js, demoJs],
    '/demo/simplewebauthn-browser.js': [js, simpleWebAuthnBrowserJs],
  };
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (req.method !== 'GET' || !file) return void res.writeHead(404).end();
    res.writeHead(200, file[0]).end(file[1]);
  });
  spaServers.push(server);
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
}

beforeAll(async () => {
  mkdirSync(outputDir, { recursive: true });
  const spaPort = await freePort();
  const strangerPort = await freePort();
  spa = `http://localhost:${spaPort}`;
  stranger = `http://localhost:${strangerPort}`;
  stack = await startStack({ ORIGIN: spa, RP_ID: 'localhost' });
  ({ browser, origin: api } = stack);
  await startSpaServer(spaPort, api);
  await startSpaServer(strangerPort, api);
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  for (const server of spaServers) await new Promise((done) => server.close(done));
  await stack?.close();
});

/** A page in a fresh browser context (its own cookie jar). */
async function freshPage(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  return context.newPage();
}

const status = (page: Page) => page.locator('#status');
const newEmail = () => `cross-${randomBytes(4).toString('hex')}@example.com`;

interface Answer {
  status: number;
  body: any;
}

/** `fetch` to the auth server from inside the page, as the SPA's own code would call it. */
function call(
  page: Page,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; credentials: RequestCredentials },
): Promise<Answer> {
  return page.evaluate(
    async ({ url, method, body, token, credentials }) => {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      const res = await fetch(url, { method, credentials, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: res.status === 204 ? null : await res.json() };
    },
    { url: api + path, method, body: options.body, token: options.token, credentials: options.credentials },
  );
}

it('the demo SPA on another origin signs in with a code, adds a passkey and signs back in with it, by cookie', async () => {
  const page = await freshPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);

  await page.goto(`${spa}/`);
  await expect.poll(() => status(page).textContent()).toBe('Ready.');

  const email = newEmail();
  await page.fill('#email', email);
  await page.click('#request-code button');
  await expect.poll(() => status(page).textContent()).toContain(`Code sent to ${email}`);
  await page.fill('#code', await stack.codeMailedTo(email));
  await page.click('#code-sign-in button');
  await page.locator('#signed-in').waitFor({ state: 'visible' });
  expect(await page.textContent('#who')).toBe(email);

  // The session cookie belongs to the auth server's host; the SPA's script cannot see it.
  const cookies = await page.context().cookies(api);
  expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['session', true, 'Lax']]);
  expect(await page.evaluate(() => document.cookie)).toBe('');

  await page.fill('#passkey-name', 'Cross-origin laptop');
  await page.click('#add-passkey button');
  await expect.poll(() => status(page).textContent()).toBe('Passkey "Cross-origin laptop" added.');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]!.rpId).toBe('localhost');

  await page.click('#sign-out');
  await page.locator('#signed-out').waitFor({ state: 'visible' });
  expect(await page.context().cookies(api)).toEqual([]);
  expect((await call(page, 'GET', '/auth/sessions/current', { credentials: 'include' })).status).toBe(401);

  await page.click('#passkey-sign-in');
  await expect.poll(() => status(page).textContent()).toBe('Signed in with a passkey.');
  await page.locator('#signed-in').waitFor({ state: 'visible' });
  expect(await page.textContent('#who')).toBe(email);
  expect(await page.textContent('#how')).toBe('(via a passkey)');

  const current = await call(page, 'GET', '/auth/sessions/current', { credentials: 'include' });
  expect(current.status).toBe(200);
  expect(current.body.session.method).toBe('passkey');
  expect(current.body.user.email).toBe(email);

  const screenshot = join(outputDir, 'cross-origin-signed-in.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot of the demo SPA on ${spa} signed in at ${api}: ${screenshot}`);

  expect(errors).toEqual([]);
});

it('the same flow works with the bearer token and no cookie', async () => {
  const page = await freshPage();
  await addVirtualAuthenticator(page);
  await page.goto(`${spa}/`);
  await expect.poll(() => status(page).textContent()).toBe('Ready.');
  const omit = { credentials: 'omit' } as const;

  const email = newEmail();
  expect((await call(page, 'POST', '/auth/verify', { ...omit, body: { email } })).status).toBe(202);
  const code = await stack.codeMailedTo(email);
  const signedIn = await call(page, 'POST', '/auth/sessions', { ...omit, body: { method: 'otp', email, token: code } });
  expect(signedIn.status).toBe(201);
  const otpToken: string = signedIn.body.token;

  // Register a passkey with the token; the WebAuthn ceremony runs in the page.
  const creation = await call(page, 'POST', '/auth/passkeys/register/options', { ...omit, token: otpToken });
  expect(creation.status).toBe(200);
  const attestation = await page.evaluate(
    (optionsJSON) => window.SimpleWebAuthnBrowser.startRegistration({ optionsJSON }),
    creation.body,
  );
  const registered = await call(page, 'POST', '/auth/passkeys/register/verify', {
    ...omit,
    token: otpToken,
    body: { ...attestation, name: 'Bearer laptop' },
  });
  expect(registered.status).toBe(201);

  expect((await call(page, 'DELETE', '/auth/sessions', { ...omit, token: otpToken })).status).toBe(204);
  expect((await call(page, 'GET', '/auth/sessions/current', { ...omit, token: otpToken })).status).toBe(401);

  const request = await call(page, 'POST', '/auth/passkeys/authenticate/options', omit);
  expect(request.status).toBe(200);
  const assertion = await page.evaluate(
    (optionsJSON) => window.SimpleWebAuthnBrowser.startAuthentication({ optionsJSON }),
    request.body,
  );
  const verified = await call(page, 'POST', '/auth/passkeys/authenticate/verify', { ...omit, body: assertion });
  expect(verified.status).toBe(200);
  expect(verified.body.email).toBe(email);
  const passkeySession = await call(page, 'POST', '/auth/sessions', {
    ...omit,
    body: { method: 'passkey', email, token: verified.body.token },
  });
  expect(passkeySession.status).toBe(201);

  const current = await call(page, 'GET', '/auth/sessions/current', { ...omit, token: passkeySession.body.token });
  expect(current.status).toBe(200);
  expect(current.body.session.method).toBe('passkey');
  expect(current.body.user.email).toBe(email);
  // With credentials 'omit' the browser never stored the cookie the sign-ins answered with.
  expect(await page.context().cookies(api)).toEqual([]);
});

it('a page on an origin not in ORIGIN cannot read answers, and its cookie-authenticated changes get 403', async () => {
  // Signed in by cookie through the SPA; the cookie is sent to the auth server from any
  // localhost port (same site), so the stranger's requests carry it too.
  const page = await freshPage();
  await page.goto(`${spa}/`);
  await expect.poll(() => status(page).textContent()).toBe('Ready.');
  const email = newEmail();
  expect((await call(page, 'POST', '/auth/verify', { credentials: 'include', body: { email } })).status).toBe(202);
  const code = await stack.codeMailedTo(email);
  const signedIn = await call(page, 'POST', '/auth/sessions', { credentials: 'include', body: { method: 'otp', email, token: code } });
  expect(signedIn.status).toBe(201);

  const evil = await page.context().newPage();
  const logged = stack.serverOutput().length;

  // The demo page itself, served on the stranger's origin, cannot talk to the server.
  await evil.goto(`${stranger}/`);
  await expect
    .poll(() => status(evil).textContent())
    .toBe(`Cannot reach the auth server at ${api} (is it running, and is ${stranger} in its ORIGIN?).`);
  await expect.poll(() => evil.locator('#status.error').count()).toBe(1);
  const screenshot = join(outputDir, 'cross-origin-refused.png');
  await evil.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot of the demo SPA on ${stranger}, an origin not in ORIGIN: ${screenshot}`);

  const attempts = await evil.evaluate(async (apiOrigin) => {
    const attempt = async (path: string, init: RequestInit) => {
      try {
        const res = await fetch(apiOrigin + path, { credentials: 'include', ...init });
        return { type: res.type, status: res.status };
      } catch (error) {
        return { error: String(error) };
      }
    };
    return {
      // A read: sent with the cookie, but the answer has no Access-Control-Allow-Origin.
      read: await attempt('/auth/sessions/current', {}),
      // A preflighted change: the preflight is refused, so the request is never sent.
      signOut: await attempt('/auth/sessions', { method: 'DELETE' }),
      register: await attempt('/auth/passkeys/register/options', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      // A "simple" change needs no preflight and is sent with the cookie; its answer is withheld
      // from the page (Cross-Origin-Resource-Policy: same-origin), not even an opaque response.
      blind: await attempt('/auth/passkeys/register/options', { method: 'POST', mode: 'no-cors' }),
    };
  }, api);
  expect(attempts.read).toEqual({ error: 'TypeError: Failed to fetch' });
  expect(attempts.signOut).toEqual({ error: 'TypeError: Failed to fetch' });
  expect(attempts.register).toEqual({ error: 'TypeError: Failed to fetch' });
  expect(attempts.blind).toEqual({ error: 'TypeError: Failed to fetch' });

  // What reached the server (its request log): the reads were answered, but without
  // Access-Control-Allow-Origin; the preflights were answered the same way, so no DELETE was sent;
  // the blind POST carried the cookie (without one it would be 401) and was refused as a
  // cross-site request forgery.
  const requests = () =>
    new Set(
      stack
        .serverOutput()
        .slice(logged)
        .split('\n')
        .flatMap((line) => {
          try {
            const entry = JSON.parse(line) as { msg: string; method: string; path: string; status: number };
            return entry.msg === 'request' ? [`${entry.method} ${entry.path} ${entry.status}`] : [];
          } catch {
            return [];
          }
        }),
    );
  await expect.poll(() => requests().has('POST /auth/passkeys/register/options 403')).toBe(true);
  expect([...requests()].sort()).toEqual([
    'GET /auth/sessions/current 200',
    'OPTIONS /auth/passkeys/register/options 204',
    'OPTIONS /auth/sessions 204',
    'POST /auth/passkeys/register/options 403',
  ]);

  // The same blind POST from the SPA's origin goes through, and the session is still alive.
  const fromSpa = await page.evaluate(async (apiOrigin) => {
    const res = await fetch(`${apiOrigin}/auth/passkeys/register/options`, { method: 'POST', credentials: 'include' });
    return { status: res.status, challenge: typeof (await res.json()).challenge };
  }, api);
  expect(fromSpa).toEqual({ status: 200, challenge: 'string' });
  const current = await call(page, 'GET', '/auth/sessions/current', { credentials: 'include' });
  expect(current.status).toBe(200);
  expect(current.body.user.email).toBe(email);
});

declare global {
  interface Window {
    SimpleWebAuthnBrowser: typeof import('@simplewebauthn/browser');
  }
}
