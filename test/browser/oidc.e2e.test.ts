// OpenID Connect in a real Chromium: the example page (src/http/demo/oidc.html, oidc-client-ts)
// served as an app of its own on another origin (http://127.0.0.1:<port>, registered through
// OIDC_CLIENTS) signs in through the server's hosted page (http://localhost:<port>) with an
// emailed code read from a real SMTP sink, with a passkey through the button, and with passkey
// autofill; comes back without the form while the browser has a session; renews with its refresh
// token; signs out. Screenshots of the pages go to SHOTS_DIR (default test-output/).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oidcHtml, oidcJs } from '../../src/http/demo/assets';
import { freePort } from '../helpers/free-port';
import { addVirtualAuthenticator, root, startStack, type Stack } from './harness';

let stack: Stack;
let browser: Browser;
/** The auth server: ISSUER, and the origin of the hosted sign-in page. */
let issuer: string;
/** The app's origin: another origin than the server's. */
let app: string;
/** The app's page: its redirect URI and its post-logout redirect URI. */
let appPage: string;
const CLIENT_ID = 'example-spa';
let appServer: Server;
const shots = process.env.SHOTS_DIR ?? join(root, 'test-output');

/** The example page as an integrator would host it: it names the provider and its client, and may connect there only. */
async function startAppServer(port: number): Promise<void> {
  const html = oidcHtml.replace('<html lang="en">', `<html lang="en" data-issuer="${issuer}" data-client-id="${CLIENT_ID}">`);
  const csp = `default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src ${issuer}; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  const files: Record<string, [Record<string, string>, string]> = {
    '/app': [{ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp }, html],
    '/demo/oidc.js': [{ 'content-type': 'text/javascript; charset=utf-8' }, oidcJs],
  };
  appServer = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (req.method !== 'GET' || !file) return void res.writeHead(404).end();
    res.writeHead(200, file[0]).end(file[1]);
  });
  await new Promise<void>((done) => appServer.listen(port, '127.0.0.1', done));
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  const appPort = await freePort();
  app = `http://127.0.0.1:${appPort}`;
  appPage = `${app}/app`;
  const clients = [{ id: CLIENT_ID, name: 'Example app', redirectUris: [appPage], postLogoutRedirectUris: [appPage] }];
  stack = await startStack({ OIDC_CLIENTS: JSON.stringify(clients), RP_ID: 'localhost' });
  ({ browser, origin: issuer } = stack);
  await startAppServer(appPort);
});

afterAll(async () => {
  if (appServer) await new Promise((done) => appServer.close(done));
  await stack?.close();
});

const newEmail = () => `oidc-${randomBytes(4).toString('hex')}@example.com`;
const status = (page: Page) => page.locator('#status');
const claim = (page: Page, name: string) => page.locator(`td[data-claim="${name}"]`);

interface Session {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

/** A page in a fresh browser context (its own cookies and storage), collecting script errors. */
async function freshPage(viewport = { width: 1280, height: 900 }): Promise<Session> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

async function openApp(page: Page): Promise<void> {
  await page.goto(appPage);
  await expect.poll(() => status(page).textContent()).toMatch(/^(Not signed in\.|Signed in as )/);
}

/** From the app's "Sign in" to the hosted page on the server's origin. */
async function goToHostedPage(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign in with OpenID Connect' }).click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/oauth/authorize?`));
  await page.getByLabel('Email').waitFor();
}

/** Back on the app, signed in: the claims of the id_token it verified. */
async function backOnApp(page: Page): Promise<void> {
  await page.waitForURL(appPage);
  await expect.poll(() => status(page).textContent(), { timeout: 30_000 }).toMatch(/^Signed in as /);
  await expect.poll(() => page.locator('#verified').textContent()).toMatch(/^✓ Signature verified with key /);
}

/** What oidc-client-ts keeps of the signed-in user (sessionStorage of the app's origin). */
async function storedUser(page: Page): Promise<{ id_token: string; refresh_token?: string; access_token: string } | null> {
  const raw = await page.evaluate((key) => sessionStorage.getItem(key), `oidc.user:${issuer}:${CLIENT_ID}`);
  return raw ? JSON.parse(raw) : null;
}

/** The id_token, verified here too, against the server's JWKS. */
async function verifiedIdToken(page: Page): Promise<JWTPayload> {
  const user = await storedUser(page);
  expect(user?.id_token).toBeTruthy();
  const { payload, protectedHeader } = await jwtVerify(user!.id_token, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), {
    issuer,
    audience: CLIENT_ID,
    algorithms: ['ES256'],
  });
  expect(protectedHeader.kid).toBeTruthy();
  return payload;
}

/** The account signed in on this browser context, asked of the API with the context's cookie. */
async function currentAccount(context: BrowserContext): Promise<{ status: number; body: any }> {
  const res = await context.request.get(`${issuer}/auth/sessions/current`);
  return { status: res.status(), body: res.status() === 200 ? await res.json() : null };
}

/** Signs in on the demo page (server origin) with a code, adds a passkey, signs out again. */
async function registerPasskey(page: Page, email: string): Promise<void> {
  await page.goto(`${issuer}/`);
  await expect.poll(() => page.locator('#status').textContent()).toBe('Ready.');
  await page.fill('#email', email);
  await page.click('#request-code button');
  await expect.poll(() => page.locator('#status').textContent()).toContain('Code sent');
  await page.fill('#code', await stack.codeMailedTo(email));
  await page.click('#code-sign-in button');
  await page.locator('#signed-in').waitFor({ state: 'visible' });
  await page.fill('#passkey-name', 'E2E passkey');
  await page.click('#add-passkey button');
  await expect.poll(() => page.locator('#status').textContent()).toBe('Passkey "E2E passkey" added.');
  await page.click('#sign-out');
  await page.locator('#signed-out').waitFor({ state: 'visible' });
}

describe('oidc-client-ts on another origin', () => {
  it('signs in with an emailed code, comes back without the form, renews, and signs out', async () => {
    const { context, page, errors } = await freshPage();
    await openApp(page);
    expect(await status(page).textContent()).toBe('Not signed in.');
    await page.screenshot({ path: join(shots, 'example-signed-out-desktop.png') });

    await goToHostedPage(page);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Sign in to Example app');
    await page.screenshot({ path: join(shots, 'hosted-page-desktop.png') });
    const email = newEmail();
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Send code' }).click();
    const code = await stack.codeMailedTo(email);
    await page.getByLabel('Code').fill(code);
    await page.screenshot({ path: join(shots, 'hosted-page-code-desktop.png') });
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await backOnApp(page);

    // The claims the page shows are those of an id_token that verifies against the JWKS.
    const claims = await verifiedIdToken(page);
    const account = await currentAccount(context);
    expect(account.status).toBe(200);
    expect(claims).toMatchObject({ iss: issuer, aud: CLIENT_ID, sub: account.body.user.id, email, email_verified: true, amr: ['otp'] });
    expect(claims.hex_identity).toBe(account.body.user.identity);
    expect(await claim(page, 'sub').textContent()).toBe(claims.sub);
    expect(await claim(page, 'hex_identity').textContent()).toBe(claims.hex_identity);
    expect(await claim(page, 'email').textContent()).toBe(email);
    expect(new URL(page.url()).search).toBe('');
    await page.screenshot({ path: join(shots, 'example-signed-in-desktop.png'), fullPage: true });

    // A second sign-in while the browser has a session: straight back, no form.
    await page.evaluate(() => sessionStorage.clear());
    await openApp(page);
    expect(await status(page).textContent()).toBe('Not signed in.');
    const scripts: string[] = [];
    page.on('request', (request) => scripts.push(request.url()));
    const authorizeAnswer = page.waitForResponse((res) => res.url().startsWith(`${issuer}/oauth/authorize?`));
    await page.getByRole('button', { name: 'Sign in with OpenID Connect' }).click();
    expect((await authorizeAnswer).status()).toBe(302);
    await backOnApp(page);
    expect(scripts.filter((url) => url.includes('/oauth/assets/'))).toEqual([]);
    expect((await verifiedIdToken(page)).sub).toBe(claims.sub);

    // Renew: signinSilent with the refresh token; a new id_token and a new refresh token.
    const before = await storedUser(page);
    expect(before?.refresh_token).toBeTruthy();
    await page.getByRole('button', { name: 'Renew' }).click();
    await expect.poll(() => status(page).textContent()).toMatch(/^Renewed at .*: a new id_token and a new refresh token\.$/);
    const after = await storedUser(page);
    expect(after!.refresh_token).not.toBe(before!.refresh_token);
    expect(after!.id_token).not.toBe(before!.id_token);
    const renewed = await verifiedIdToken(page);
    expect(renewed).toMatchObject({ sub: claims.sub, aud: CLIENT_ID, auth_time: claims.auth_time });
    expect(renewed.nonce).toBeUndefined();

    // Sign out: signoutRedirect ends the server session and comes back to the app.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(appPage);
    await expect.poll(() => status(page).textContent()).toBe('Signed out.');
    expect(await storedUser(page)).toBeNull();
    expect((await currentAccount(context)).status).toBe(401);
    // Its refresh token died with the session.
    const refresh = await context.request.post(`${issuer}/oauth/token`, {
      form: { grant_type: 'refresh_token', refresh_token: after!.refresh_token!, client_id: CLIENT_ID },
    });
    expect(refresh.status()).toBe(400);
    expect((await refresh.json()).error).toBe('invalid_grant');

    expect(errors).toEqual([]);
    await context.close();
  });

  it('signs in with a passkey through the button, and says in words when the prompt was closed', async () => {
    const { context, page, errors } = await freshPage();
    // A browser without passkey autofill: the button is the way (a virtual authenticator answers
    // a conditional request at once, which would sign in before any click).
    await context.addInitScript(() => {
      if (globalThis.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    const { cdp, authenticatorId } = await addVirtualAuthenticator(page);

    // No passkey on this authenticator yet: the browser refuses, the page says so in words.
    await openApp(page);
    await goToHostedPage(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect.poll(() => page.locator('#error').textContent()).toBe('The passkey prompt was closed.');
    await expect(page.getByRole('button', { name: 'Sign in with a passkey' }).isEnabled()).resolves.toBe(true);

    const email = newEmail();
    await registerPasskey(page, email);
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(1);

    await openApp(page);
    await goToHostedPage(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await backOnApp(page);
    const claims = await verifiedIdToken(page);
    expect(claims.email).toBe(email);
    expect(claims.amr).toEqual(expect.arrayContaining(['pop']));
    const account = await currentAccount(context);
    expect(account.body.session.method).toBe('passkey');
    expect(claims.sid).toBe(account.body.session.id);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('signs in with passkey autofill: the authenticator answers the conditional request on the Email field', async () => {
    const { context, page, errors } = await freshPage();
    const requests: string[] = [];
    page.on('console', (message) => {
      // The demo page (where the passkey is registered) offers autofill too: count the hosted page's requests only.
      const url = new URL(page.url());
      if (message.text().startsWith('credentials.get ') && url.pathname.startsWith('/oauth/')) requests.push(`${url.origin}${url.pathname} ${message.text()}`);
    });
    await context.addInitScript(() => {
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = (options) => {
        console.log(`credentials.get mediation=${options?.mediation ?? 'optional'}`);
        return get(options);
      };
    });
    await addVirtualAuthenticator(page);
    const email = newEmail();
    await registerPasskey(page, email);

    await openApp(page);
    await page.getByRole('button', { name: 'Sign in with OpenID Connect' }).click();
    // Nothing to click: the page offers passkeys to the Email field's autofill, and the virtual
    // authenticator (a resident credential, presence simulated) picks the one it holds.
    await backOnApp(page);
    expect(requests).toEqual([`${issuer}/oauth/authorize credentials.get mediation=conditional`]);
    const claims = await verifiedIdToken(page);
    expect(claims.email).toBe(email);
    expect(claims.amr).toEqual(expect.arrayContaining(['pop']));
    expect((await currentAccount(context)).body.session.method).toBe('passkey');
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('the pages on a phone and the example page on the server itself', () => {
  it('runs the example page at /demo/oidc with the built-in demo client', async () => {
    const { context, page, errors } = await freshPage({ width: 390, height: 844 });
    await page.goto(`${issuer}/demo/oidc`);
    await expect.poll(() => status(page).textContent()).toBe('Not signed in.');
    await page.screenshot({ path: join(shots, 'example-signed-out-phone.png') });
    await page.getByRole('button', { name: 'Sign in with OpenID Connect' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${issuer}/oauth/authorize?`));
    await page.screenshot({ path: join(shots, 'hosted-page-phone.png') });
    const email = newEmail();
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Send code' }).click();
    // A wrong code first: an error in words.
    const code = await stack.codeMailedTo(email);
    await page.getByLabel('Code').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.locator('#error').textContent()).toBe('That code is wrong or has expired.');
    await expect(page.getByLabel('Code').getAttribute('aria-invalid')).resolves.toBe('true');
    await page.screenshot({ path: join(shots, 'hosted-page-error-phone.png') });
    await page.getByLabel('Code').fill(code);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${issuer}/demo/oidc`);
    await expect.poll(() => status(page).textContent(), { timeout: 30_000 }).toBe(`Signed in as ${email}.`);
    await expect.poll(() => page.locator('#verified').textContent()).toMatch(/^✓ Signature verified/);
    expect(await claim(page, 'aud').textContent()).toBe('demo');
    await page.screenshot({ path: join(shots, 'example-signed-in-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('works from the keyboard, and says when there were too many attempts', async () => {
    const { context, page, errors } = await freshPage({ width: 390, height: 844 });
    await openApp(page);
    await goToHostedPage(page);
    const email = newEmail();
    // The Email field is the first control; Enter sends the code, and focus moves to the Code field.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    await page.keyboard.type(email);
    const sends: number[] = [];
    page.on('response', (res) => res.url() === `${issuer}/auth/verify` && sends.push(res.status()));
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('code');
    await stack.codeMailedTo(email);
    // SEND_LIMIT_PER_EMAIL is 5 per 15 minutes: the sixth send is refused with Retry-After.
    for (let sent = 1; sent < 6; sent++) {
      await page.getByRole('button', { name: 'Send code' }).click();
      await expect.poll(() => sends.length).toBe(sent + 1);
      await expect(page.getByRole('button', { name: 'Send code' }).isEnabled()).resolves.toBe(true);
    }
    expect(sends).toEqual([202, 202, 202, 202, 202, 429]);
    await expect.poll(() => page.locator('#error').textContent()).toMatch(/^Too many attempts — try again in (1 minute|\d+ minutes)\.$/);
    await page.screenshot({ path: join(shots, 'hosted-page-rate-limited-phone.png') });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows the message and sign-out pages', async () => {
    for (const [viewport, tag] of [
      [{ width: 1280, height: 900 }, 'desktop'],
      [{ width: 390, height: 844 }, 'phone'],
    ] as const) {
      const { context, page, errors } = await freshPage(viewport);
      const refused = await page.goto(`${issuer}/oauth/authorize?client_id=nobody&redirect_uri=${encodeURIComponent(appPage)}&response_type=code&scope=openid`);
      expect(refused?.status()).toBe(400);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBeTruthy();
      await page.screenshot({ path: join(shots, `message-page-${tag}.png`) });

      const confirm = await page.goto(`${issuer}/oauth/logout?client_id=${CLIENT_ID}&post_logout_redirect_uri=${encodeURIComponent(appPage)}&state=s1`);
      expect(confirm?.status()).toBe(200);
      await page.getByRole('button', { name: 'Sign out' }).focus();
      await page.screenshot({ path: join(shots, `logout-confirm-page-${tag}.png`) });
      const posted = page.waitForResponse((res) => res.url() === `${issuer}/oauth/logout` && res.request().method() === 'POST');
      await page.getByRole('button', { name: 'Sign out' }).click();
      expect((await posted).status()).toBe(303);
      expect((await posted).headers().location).toBe(`${appPage}?state=s1`);
      await page.waitForURL((url) => url.href.startsWith(appPage));

      await page.goto(`${issuer}/oauth/logout`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Signed out');
      await page.screenshot({ path: join(shots, `signed-out-page-${tag}.png`) });
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
