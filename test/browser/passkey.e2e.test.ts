import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addVirtualAuthenticator, root, startStack, type Stack } from './harness';

// The demo page served by the auth server itself (same origin).
let stack: Stack;
let browser: Browser;
let origin: string;
const codeMailedTo = (email: string) => stack.codeMailedTo(email);

beforeAll(async () => {
  stack = await startStack();
  ({ browser, origin } = stack);
});

afterAll(() => stack?.close());

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
