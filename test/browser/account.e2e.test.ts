import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addVirtualAuthenticator, root, startStack, type Stack } from './harness';

// The demo page as a reference SPA, in a real Chromium with a CDP virtual authenticator: passkey
// autofill, labels and accessible names, plain-word WebAuthn errors, renaming passkeys, changing
// the email address and deleting the account. Screenshots go to test-output/shots (or SHOTS_DIR).
let stack: Stack;
let browser: Browser;
let origin: string;
const shots = process.env.SHOTS_DIR ?? join(root, 'test-output', 'shots');

beforeAll(async () => {
  stack = await startStack();
  ({ browser, origin } = stack);
  mkdirSync(shots, { recursive: true });
});

afterAll(() => stack?.close());

const status = (page: Page) => page.locator('#status');
const newEmail = () => `account-${randomBytes(4).toString('hex')}@example.com`;

/** Screenshots of the page as it is, at a desktop and a phone size. */
async function snap(page: Page, name: string) {
  for (const [label, width, height] of [['desktop', 1280, 900], ['phone', 390, 844]] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `${shots}/account-${name}-${label}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function signInWithCode(page: Page, email: string) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Send code', exact: true }).click();
  await expect.poll(() => status(page).textContent()).toContain(`Code sent to ${email}`);
  await page.getByLabel('Code', { exact: true }).fill(await stack.codeMailedTo(email));
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('#signed-in').waitFor({ state: 'visible' });
}

it('labels every field, names every button after what it acts on, and signs in with passkey autofill', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);

  await page.goto(`${origin}/`);
  await expect.poll(() => status(page).textContent()).toBe('Ready.');
  // Every field of the page, shown or not, has a <label>.
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input')].filter((input) => input.labels?.length === 0).map((input) => input.id),
  );
  expect(unlabelled).toEqual([]);
  expect(await page.getByLabel('Email', { exact: true }).getAttribute('autocomplete')).toBe('username webauthn');
  expect(await page.getByLabel('Code', { exact: true }).getAttribute('autocomplete')).toBe('one-time-code');
  await snap(page, 'signed-out');

  const email = newEmail();
  await signInWithCode(page, email);
  await expect.poll(() => page.textContent('#who')).toBe(email);
  // The code does not linger in the page once used.
  expect(await page.locator('#code').inputValue()).toBe('');

  // An unnamed passkey is named after the browser (the virtual authenticator's AAGUID is no provider's).
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect.poll(() => status(page).textContent()).toBe('Passkey "Chrome on Linux" added.');
  await page.getByRole('button', { name: 'Rename Chrome on Linux', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Rename Chrome on Linux', exact: true }).click();
  await page.getByLabel('New name for Chrome on Linux').fill('Work laptop');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect.poll(() => status(page).textContent()).toBe('Passkey renamed to "Work laptop".');
  // The status is set before the list is drawn again: wait for the list.
  await expect.poll(() => page.getByRole('button', { name: 'Remove Work laptop', exact: true }).count()).toBe(1);
  await expect.poll(() => page.getByRole('button', { name: 'Rename Work laptop', exact: true }).count()).toBe(1);

  // The same authenticator again: excluded, and said in plain words.
  await page.getByLabel('Name of the new passkey').fill('Again');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect.poll(() => status(page).textContent()).toBe('This device already has a passkey for this account.');
  await expect.poll(() => page.locator('#status.error').count()).toBe(1);
  await page.getByRole('button', { name: 'Rename Work laptop', exact: true }).click();
  await snap(page, 'signed-in-renaming');
  await page.getByRole('button', { name: 'Cancel' }).click();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#signed-out').waitFor({ state: 'visible' });
  expect(await page.locator('#code').inputValue()).toBe('');

  // Autofill: on load the page starts a conditional request on the email field; the virtual
  // authenticator holds a discoverable credential for this site and answers it.
  await page.reload();
  await expect.poll(() => status(page).textContent(), { timeout: 30_000 }).toBe('Signed in with a passkey.');
  await page.locator('#signed-in').waitFor({ state: 'visible' });
  await expect.poll(() => page.textContent('#who')).toBe(email);
  await expect.poll(() => page.textContent('#how')).toBe('(via a passkey)');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]!.signCount).toBeGreaterThan(0);
  await snap(page, 'signed-in');
  expect(errors).toEqual([]);
});

it('says "The passkey prompt was closed." when no passkey answers, instead of the browser’s text', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  // An authenticator that never gets the user's touch: the prompt ends without a passkey.
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  await page.goto(`${origin}/`);
  await expect.poll(() => status(page).textContent()).toBe('Ready.');
  // Shorten the wait: the request options the page fetches get a 1-second timeout.
  await page.route('**/auth/passkeys/authenticate/options', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, json: { ...(await response.json()), timeout: 1000 } });
  });
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect.poll(() => status(page).textContent(), { timeout: 60_000 }).toBe('The passkey prompt was closed.');
  await expect.poll(() => page.locator('#status.error').count()).toBe(1);
  await snap(page, 'passkey-error');
});

it('changes the email address with a code mailed to the new one, then deletes the account', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${origin}/`);
  await expect.poll(() => status(page).textContent()).toBe('Ready.');
  const email = newEmail();
  await signInWithCode(page, email);
  const before = await page.evaluate(async () => (await (await fetch('/auth/sessions/current')).json()).user);

  const moved = newEmail();
  await page.getByLabel('New email address').fill(moved);
  await page.getByRole('button', { name: 'Send code to new address' }).click();
  await expect.poll(() => status(page).textContent()).toBe(`Code sent to ${moved}. Enter it to change the address.`);
  const codeField = page.getByLabel('Code sent to the new address');
  expect(await codeField.getAttribute('autocomplete')).toBe('one-time-code');
  await snap(page, 'change-email');
  await codeField.fill(await stack.codeMailedTo(moved));
  await page.getByRole('button', { name: 'Change email' }).click();
  await expect.poll(() => status(page).textContent()).toBe(`Email changed to ${moved}.`);
  await expect.poll(() => page.textContent('#who')).toBe(moved);
  expect(await page.locator('#confirm-email').isHidden()).toBe(true);

  await page.getByRole('button', { name: 'Delete account…' }).click();
  await expect(page.getByRole('group', { name: 'Delete this account now? This cannot be undone.' }).count()).resolves.toBe(1);
  await snap(page, 'delete-confirm');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await expect.poll(() => status(page).textContent()).toBe('Your account was deleted.');
  await page.locator('#signed-out').waitFor({ state: 'visible' });
  expect((await page.evaluate(async () => (await fetch('/auth/sessions/current')).status))).toBe(401);

  // The address signs up again as a new account, with a new identity.
  await signInWithCode(page, moved);
  const after = await page.evaluate(async () => (await (await fetch('/auth/sessions/current')).json()).user);
  expect(after.email).toBe(moved);
  expect(after.id).not.toBe(before.id);
  expect(after.identity).not.toBe(before.identity);
  await expect.poll(() => page.locator('#passkeys li').first().textContent()).toContain('No passkeys yet.');
  expect(errors).toEqual([]);
});
