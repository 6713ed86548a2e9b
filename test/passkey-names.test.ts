import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity } from '../src/db/schema';
import { KNOWN_AAGUIDS } from '../src/domain/passkeys/aaguids';
import { defaultPasskeyName } from '../src/domain/passkeys/names';
import { describeUserAgent } from '../src/domain/user-agent';
import { createTestContext, ORIGIN, type TestContext } from './helpers/app';
import { MINUTE } from './helpers/clock';
import { SoftAuthenticator } from './helpers/webauthn';

const UA = {
  chromeMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  chromeAndroid:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  samsung:
    'Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  chromeIpad: 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1',
};

describe('describeUserAgent', () => {
  it('names the browser and the platform people would say', () => {
    expect(describeUserAgent(UA.chromeMac)).toBe('Chrome on macOS');
    expect(describeUserAgent(UA.safariIphone)).toBe('Safari on iPhone');
    expect(describeUserAgent(UA.edgeWindows)).toBe('Edge on Windows');
    expect(describeUserAgent(UA.firefoxLinux)).toBe('Firefox on Linux');
    expect(describeUserAgent(UA.chromeAndroid)).toBe('Chrome on Android');
    expect(describeUserAgent(UA.samsung)).toBe('Samsung Internet on Android');
    expect(describeUserAgent(UA.chromeIpad)).toBe('Chrome on iPad');
  });

  it('says what it knows, and nothing for what it does not', () => {
    expect(describeUserAgent('curl/8.5.0')).toBeNull();
    expect(describeUserAgent('')).toBeNull();
    expect(describeUserAgent(null)).toBeNull();
    expect(describeUserAgent('SomeBot (Windows NT 10.0)')).toBe('Windows');
  });
});

describe('defaultPasskeyName', () => {
  it('prefers a well-known provider, then the browser, then "Passkey"', () => {
    expect(defaultPasskeyName('fbfc3007-154e-4ecc-8c0b-6e020557d7bd', UA.safariIphone)).toBe('iCloud Keychain');
    expect(defaultPasskeyName('EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4', UA.chromeAndroid)).toBe('Google Password Manager');
    expect(defaultPasskeyName('08987058-cadc-4b81-b6e1-30de50dcbe96', UA.edgeWindows)).toBe('Windows Hello');
    expect(defaultPasskeyName('00000000-0000-0000-0000-000000000000', UA.chromeMac)).toBe('Chrome on macOS');
    expect(defaultPasskeyName(undefined, null)).toBe('Passkey');
  });

  it('keeps a small table of well-formed AAGUIDs and short names', () => {
    const entries = Object.entries(KNOWN_AAGUIDS);
    expect(entries.length).toBeGreaterThan(10);
    expect(entries.length).toBeLessThan(40);
    for (const [aaguid, name] of entries) {
      expect(aaguid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(name.length).toBeGreaterThan(0);
      expect(name.length).toBeLessThanOrEqual(64);
    }
  });
});

describe('passkey names over HTTP', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(() => t.close());

  async function registerUnnamed(token: string, overrides: { aaguid?: string; userAgent?: string } = {}) {
    const authenticator = new SoftAuthenticator(ORIGIN);
    const headers = overrides.userAgent ? { 'user-agent': overrides.userAgent } : undefined;
    const options = await t.request('POST', '/auth/passkeys/register/options', { token, headers });
    const credential = await authenticator.register(options.body, { aaguid: overrides.aaguid });
    return t.request('POST', '/auth/passkeys/register/verify', { token, headers, body: credential });
  }

  it('names an unnamed passkey after its provider, or the browser, never the email', async () => {
    const account = await t.signIn();
    const windows = await registerUnnamed(account.token, { aaguid: '9ddd1817-af5a-4672-a2b9-3e3dd95000a9', userAgent: UA.edgeWindows });
    expect(windows.status).toBe(201);
    expect(windows.body.passkey.name).toBe('Windows Hello');

    const unknown = await registerUnnamed(account.token, { userAgent: UA.chromeMac });
    expect(unknown.status).toBe(201);
    expect(unknown.body.passkey.name).toBe('Chrome on macOS');

    const bare = await registerUnnamed(account.token);
    expect(bare.body.passkey.name).toBe('Passkey');
    for (const res of [windows, unknown, bare]) expect(res.body.passkey.name).not.toContain(account.email);
  });

  it('mails the account a notice naming the passkey, the device and the time, with no link', async () => {
    const account = await t.signIn();
    const res = await registerUnnamed(account.token, { aaguid: 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4', userAgent: UA.chromeAndroid });
    expect(res.status).toBe(201);
    const notice = t.mailer.outbox.findLast((m) => m.to === account.email)!;
    expect(notice.subject).toBe('A passkey was added to your Auth account');
    expect(notice.text).toContain('“Google Password Manager”');
    expect(notice.text).toContain('Device: Chrome on Android');
    expect(notice.text).toMatch(/When: \d{1,2} \w+ \d{4}, \d\d:\d\d UTC/);
    expect(notice.html).toContain('Google Password Manager');
    expect(`${notice.text}${notice.html}`).not.toMatch(/https?:\/\/|href=/);
  });

  it('renames a passkey, with no fresh session needed, and logs passkey_renamed', async () => {
    const account = await t.signIn();
    const created = await registerUnnamed(account.token);
    const id: string = created.body.passkey.id;
    t.clock.advance(30 * MINUTE);

    const res = await t.request('PATCH', `/auth/passkeys/${id}`, { token: account.token, body: { name: '  Work laptop  ' } });
    expect(res.status).toBe(200);
    expect(res.body.passkey).toMatchObject({ id, name: 'Work laptop' });
    const list = await t.request('GET', '/auth/passkeys', { token: account.token });
    expect(list.body.passkeys.map((p: { name: string }) => p.name)).toEqual(['Work laptop']);

    const logged = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, account.user.id), eq(activity.action, 'passkey_renamed')));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.metadata).toEqual({ passkeyId: id, from: 'Passkey', name: 'Work laptop' });
  });

  it('refuses bad names with 400 and other people’s passkeys with 404', async () => {
    const owner = await t.signIn();
    const stranger = await t.signIn();
    const id: string = (await registerUnnamed(owner.token)).body.passkey.id;
    for (const name of ['', '   ', 'x'.repeat(65), 'evil\u202Egnp.exe', 'tab\there']) {
      const res = await t.request('PATCH', `/auth/passkeys/${id}`, { token: owner.token, body: { name } });
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    expect((await t.request('PATCH', `/auth/passkeys/${id}`, { token: owner.token, body: {} })).status).toBe(400);
    const theirs = await t.request('PATCH', `/auth/passkeys/${id}`, { token: stranger.token, body: { name: 'Mine now' } });
    expect(theirs.status).toBe(404);
    expect((await t.request('PATCH', '/auth/passkeys/not-a-uuid', { token: owner.token, body: { name: 'x' } })).status).toBe(404);
    expect((await t.request('PATCH', `/auth/passkeys/${crypto.randomUUID()}`, { token: owner.token, body: { name: 'x' } })).status).toBe(404);
    expect((await t.request('PATCH', `/auth/passkeys/${id}`, { body: { name: 'x' } })).status).toBe(401);
    const list = await t.request('GET', '/auth/passkeys', { token: owner.token });
    expect(list.body.passkeys[0].name).toBe('Passkey');
  });
});
