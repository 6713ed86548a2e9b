import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passkeyOrigins } from '../src/domain/passkeys/origins';
import { createTestContext, type TestContext } from './helpers/app';
import { SoftAuthenticator } from './helpers/webauthn';

// The hosted sign-in page runs on ISSUER's origin, which need not be one of ORIGIN's: its passkey
// ceremonies must still verify when RP_ID covers ISSUER's host.
const SPA = 'http://localhost:5173';
const ISSUER = 'http://localhost:3000';

describe('passkeyOrigins', () => {
  it("adds ISSUER's origin when RP_ID covers its host", () => {
    expect(passkeyOrigins({ origins: [SPA], issuer: ISSUER, rpId: 'localhost' })).toEqual([SPA, ISSUER]);
    expect(passkeyOrigins({ origins: ['https://app.example.com'], issuer: 'https://auth.example.com/', rpId: 'example.com' })).toEqual([
      'https://app.example.com',
      'https://auth.example.com',
    ]);
  });

  it('adds nothing when ISSUER is already allowed or RP_ID does not cover it', () => {
    expect(passkeyOrigins({ origins: [ISSUER], issuer: ISSUER, rpId: 'localhost' })).toEqual([ISSUER]);
    expect(passkeyOrigins({ origins: ['https://app.example.com'], issuer: 'https://auth.other.test', rpId: 'example.com' })).toEqual([
      'https://app.example.com',
    ]);
    expect(passkeyOrigins({ origins: ['https://app.example.com'], issuer: 'https://notexample.com', rpId: 'example.com' })).toEqual([
      'https://app.example.com',
    ]);
  });
});

describe("passkey ceremonies on ISSUER's origin", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ ORIGIN: SPA, ISSUER });
  });
  afterAll(() => t.close());

  async function accountWithPasskey(authenticator: SoftAuthenticator) {
    const account = await t.signIn();
    const options = await t.request('POST', '/auth/passkeys/register/options', { token: account.token });
    const credential = await authenticator.register(options.body);
    const res = await t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name: 'Laptop' } });
    expect(res.status).toBe(201);
    return account;
  }

  const assertFrom = async (authenticator: SoftAuthenticator, origin: string) => {
    const options = await t.request('POST', '/auth/passkeys/authenticate/options');
    return t.request('POST', '/auth/passkeys/authenticate/verify', { body: await authenticator.authenticate(options.body, { origin }) });
  };

  it("verifies a passkey registered on ORIGIN and used on ISSUER's origin", async () => {
    const authenticator = new SoftAuthenticator(SPA);
    const account = await accountWithPasskey(authenticator);
    const res = await assertFrom(authenticator, ISSUER);
    expect(res.status).toBe(200);
    expect(res.body.email).toBe(account.email);
  });

  it("registers a passkey from ISSUER's origin", async () => {
    const authenticator = new SoftAuthenticator(ISSUER);
    await accountWithPasskey(authenticator);
    expect((await assertFrom(authenticator, SPA)).status).toBe(200);
  });

  it('still refuses any other origin', async () => {
    const authenticator = new SoftAuthenticator(SPA);
    await accountWithPasskey(authenticator);
    expect((await assertFrom(authenticator, 'http://localhost:9999')).status).toBe(401);
  });
});
