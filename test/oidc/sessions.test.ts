import { count, eq } from 'drizzle-orm';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauthAuthorizationRequests, oauthCodes, sessions, signInTokens } from '../../src/db/schema';
import { purgeExpired } from '../../src/domain/maintenance';
import { SoftAuthenticator } from '../helpers/webauthn';
import { authorizationRequest, authorizeWith, codeFlow, startProvider, type Provider } from './provider';

// PASSKEY_USER_VERIFICATION=preferred, so that an assertion without the UV flag signs in too.
let p: Provider;
let config: oidc.Configuration;
beforeAll(async () => {
  p = await startProvider({ PASSKEY_USER_VERIFICATION: 'preferred' });
  config = await p.client();
});
afterAll(() => p.close());

/** Signs in with a passkey; the authenticator verifies the user or not. */
async function passkeySession(userVerified: boolean) {
  const account = await p.signIn();
  const authenticator = new SoftAuthenticator(p.issuer);
  const options = await p.t.request('POST', '/auth/passkeys/register/options', { token: account.token });
  const credential = await authenticator.register(options.body, { userVerified });
  expect((await p.t.request('POST', '/auth/passkeys/register/verify', { token: account.token, body: { ...credential, name: 'Key' } })).status).toBe(201);
  const request = await p.t.request('POST', '/auth/passkeys/authenticate/options');
  const verified = await p.t.request('POST', '/auth/passkeys/authenticate/verify', { body: await authenticator.authenticate(request.body, { userVerified }) });
  expect(verified.status).toBe(200);
  const signedIn = await p.t.request('POST', '/auth/sessions', { body: { method: 'passkey', email: account.email, token: verified.body.token } });
  expect(signedIn.status).toBe(201);
  return { cookie: `session=${signedIn.body.token}`, sessionId: signedIn.body.session.id as string };
}

describe('amr', () => {
  it('is ["pop", "mfa"] for a passkey that verified the user, ["pop"] for one that did not, ["otp"] for a code', async () => {
    const verified = await passkeySession(true);
    const [row] = await p.t.db.select().from(sessions).where(eq(sessions.id, verified.sessionId));
    expect(row!.userVerified).toBe(true);
    expect((await codeFlow(p, config, { cookie: verified.cookie })).tokens.claims()?.amr).toEqual(['pop', 'mfa']);

    const present = await passkeySession(false);
    expect((await codeFlow(p, config, { cookie: present.cookie })).tokens.claims()?.amr).toEqual(['pop']);
    expect((await codeFlow(p, config)).tokens.claims()?.amr).toEqual(['otp']);
    // Sign-in tokens carried the flag and were spent.
    expect((await p.t.db.select({ n: count() }).from(signInTokens))[0]!.n).toBe(0);
  });
});

describe('purge', () => {
  it('deletes expired authorization requests and codes', async () => {
    const account = await p.signIn();
    const pending = await authorizeWith(p, (await authorizationRequest(config)).url, null);
    expect(pending.status).toBe(200);
    const issued = await authorizeWith(p, (await authorizationRequest(config)).url, account.cookie);
    expect(issued.status).toBe(302);
    const rows = async () => ({
      requests: (await p.t.db.select({ n: count() }).from(oauthAuthorizationRequests))[0]!.n,
      codes: (await p.t.db.select({ n: count() }).from(oauthCodes))[0]!.n,
    });
    const before = await rows();
    expect(before.requests).toBeGreaterThan(0);
    expect(before.codes).toBeGreaterThan(0);
    await purgeExpired(p.t.deps);
    expect(await rows()).toEqual(before);
    p.t.clock.advance(31 * 60 * 1000);
    await purgeExpired(p.t.deps);
    expect(await rows()).toEqual({ requests: 0, codes: 0 });
  });
});
