import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config';
import { passkeys, signInTokens } from '../../src/db/schema';
import { createTestContext, ORIGIN, type TestContext } from '../helpers/app';
import { runNodeServerToExit } from '../helpers/server';
import { SoftAuthenticator } from '../helpers/webauthn';

let required: TestContext;
let preferred: TestContext;
beforeAll(async () => {
  required = await createTestContext();
  preferred = await createTestContext({ PASSKEY_USER_VERIFICATION: 'preferred' }, { database: required.database });
});
afterAll(() => required.close());

/** A signed-in account and a soft authenticator; `register` runs one registration ceremony. */
async function account(t: TestContext) {
  const signedIn = await t.signIn();
  const authenticator = new SoftAuthenticator(ORIGIN);
  const register = async (userVerified: boolean) => {
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: signedIn.token });
    expect(options.status).toBe(200);
    const credential = await authenticator.register(options.body, { userVerified });
    return t.request('POST', '/auth/passkeys/register/verify', { token: signedIn.token, body: { ...credential, name: 'Key' } });
  };
  return { ...signedIn, authenticator, register };
}

async function assertion(t: TestContext, authenticator: SoftAuthenticator, userVerified: boolean) {
  const options = await t.request('POST', '/auth/passkeys/authenticate/options');
  expect(options.status).toBe(200);
  const credential = await authenticator.authenticate(options.body, { userVerified });
  return t.request('POST', '/auth/passkeys/authenticate/verify', { body: credential });
}

const passkeysOf = (t: TestContext, userId: string) => t.db.select().from(passkeys).where(eq(passkeys.userId, userId));

describe('PASSKEY_USER_VERIFICATION=required (the default)', () => {
  it('asks for user verification in both ceremonies', async () => {
    const a = await account(required);
    const creation = await required.request('POST', '/auth/passkeys/register/options', { token: a.token });
    expect(creation.body.authenticatorSelection.userVerification).toBe('required');
    const request = await required.request('POST', '/auth/passkeys/authenticate/options');
    expect(request.body.userVerification).toBe('required');
  });

  it('refuses a registration without the UV flag with 400 invalid_passkey and stores nothing', async () => {
    const a = await account(required);
    const res = await a.register(false);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_passkey');
    expect(await passkeysOf(required, a.user.id)).toEqual([]);

    expect((await a.register(true)).status).toBe(201);
    expect(await passkeysOf(required, a.user.id)).toHaveLength(1);
  });

  it('refuses an assertion without the UV flag with 401 and issues no sign-in token', async () => {
    const a = await account(required);
    expect((await a.register(true)).status).toBe(201);
    const [passkey] = await passkeysOf(required, a.user.id);

    const res = await assertion(required, a.authenticator, false);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect(await required.db.select().from(signInTokens).where(eq(signInTokens.passkeyId, passkey!.id))).toEqual([]);
    const [after] = await passkeysOf(required, a.user.id);
    expect(after!.counter).toBe(passkey!.counter);

    const verified = await assertion(required, a.authenticator, true);
    expect(verified.status).toBe(200);
    expect(verified.body.email).toBe(a.email);
  });
});

describe('PASSKEY_USER_VERIFICATION=preferred', () => {
  it('asks for it without insisting: a passkey without UV registers and signs in', async () => {
    const a = await account(preferred);
    const creation = await preferred.request('POST', '/auth/passkeys/register/options', { token: a.token });
    expect(creation.body.authenticatorSelection.userVerification).toBe('preferred');
    expect((await preferred.request('POST', '/auth/passkeys/authenticate/options')).body.userVerification).toBe('preferred');

    expect((await a.register(false)).status).toBe(201);
    const verified = await assertion(preferred, a.authenticator, false);
    expect(verified.status).toBe(200);
    const session = await preferred.request('POST', '/auth/sessions', {
      body: { method: 'passkey', email: verified.body.email, token: verified.body.token },
    });
    expect(session.status).toBe(201);
  });
});

describe('the setting', () => {
  it('defaults to required and takes preferred', () => {
    expect(parseConfig({}).passkeyUserVerification).toBe('required');
    expect(parseConfig({ PASSKEY_USER_VERIFICATION: 'preferred' }).passkeyUserVerification).toBe('preferred');
  });

  it('refuses any other value, naming the variable', () => {
    for (const value of ['discouraged', 'REQUIRED', 'yes']) {
      expect(() => parseConfig({ PASSKEY_USER_VERIFICATION: value })).toThrow(ConfigError);
      expect(() => parseConfig({ PASSKEY_USER_VERIFICATION: value })).toThrow(/^PASSKEY_USER_VERIFICATION: must be required or preferred$/);
    }
  });

  it('a bad value stops the server at start-up with one line', async () => {
    const { code, stderr, stdout } = await runNodeServerToExit({ PASSKEY_USER_VERIFICATION: 'discouraged', DATA_DIR: '/nonexistent/never-created' });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual(['configuration error: PASSKEY_USER_VERIFICATION: must be required or preferred']);
  });
});
