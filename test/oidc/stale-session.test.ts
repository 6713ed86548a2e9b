import { createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessions } from '../../src/db/schema';
import { createMemorySessionCache } from '../../src/ports/session-cache';
import { createTestContext, type TestContext } from '../helpers/app';

// A process's session cache can be a moment behind a sign-out on another process (its eviction
// arrives by NOTIFY). A code or grant stored for a session deleted meanwhile must not answer 500.
const CLIENT = { id: 'stale-spa', redirectUri: 'https://stale.example.test/cb' };
let t: TestContext;
beforeAll(async () => {
  const cache = createMemorySessionCache({ ttlMs: 60 * 60 * 1000, maxEntries: 100, now: () => performance.now() });
  t = await createTestContext({ OIDC_CLIENTS: JSON.stringify([{ id: CLIENT.id, redirectUris: [CLIENT.redirectUri] }]) }, { sessionCache: cache });
});
afterAll(() => t.close());

const form = (fields: Record<string, string>) => ({ body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

function authorizeQuery(challenge: string): string {
  return `/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT.id,
    redirect_uri: CLIENT.redirectUri,
    scope: 'openid offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
}

describe('a session deleted behind the cache’s back', () => {
  it('authorize shows the sign-in page instead of storing a code for it', async () => {
    const account = await t.signIn();
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const cookie = { cookie: `session=${account.token}` };
    // Cached by a first check…
    expect((await t.request('GET', authorizeQuery(challenge), { headers: cookie })).status).toBe(302);
    // …then deleted without an eviction, as on another process before its NOTIFY lands.
    await t.db.delete(sessions).where(eq(sessions.id, account.session.id));
    const res = await t.request('GET', authorizeQuery(challenge), { headers: cookie });
    expect(res.status).toBe(200);
  });

  it('a code whose session is gone is invalid_grant', async () => {
    const account = await t.signIn();
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorized = await t.request('GET', authorizeQuery(challenge), { headers: { cookie: `session=${account.token}` } });
    const code = new URL(authorized.headers.get('location')!).searchParams.get('code')!;
    await t.db.delete(sessions).where(eq(sessions.id, account.session.id));
    const res = await t.request('POST', '/oauth/token', form({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUri, client_id: CLIENT.id, code_verifier: verifier }));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });
});
