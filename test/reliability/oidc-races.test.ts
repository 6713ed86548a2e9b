import { createHash, randomBytes } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauthGrants, oauthRefreshTokens } from '../../src/db/schema';
import { createTestContext, type TestContext, type TestResponse } from '../helpers/app';
import { driver } from '../helpers/db';

// Fifty concurrent redemptions of one authorization code, and fifty concurrent refreshes of one
// refresh token: the single-use statements decide who wins, whatever the interleaving.
const N = 50;
const CLIENT = { id: 'race-spa', redirectUri: 'https://race.example.test/cb' };
let t: TestContext;
const held: string[] = [];

beforeAll(async () => {
  t = await createTestContext({ OIDC_CLIENTS: JSON.stringify([{ id: CLIENT.id, redirectUris: [CLIENT.redirectUri] }]) });
});
afterAll(async () => {
  console.log(`oidc races (${driver}): ${held.join('; ')}`);
  await t.close();
});

function tally(answers: TestResponse[]): Record<string, number> {
  const byOutcome: Record<string, number> = {};
  for (const { status, body } of answers) {
    const key = status === 200 ? '200' : `${status} ${body?.error}`;
    byOutcome[key] = (byOutcome[key] ?? 0) + 1;
  }
  return byOutcome;
}

const token = (form: Record<string, string>) =>
  t.request('POST', '/oauth/token', { body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

async function issueCode() {
  const account = await t.signIn();
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT.id,
    redirect_uri: CLIENT.redirectUri,
    scope: 'openid offline_access',
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const res = await t.app.request(`/oauth/authorize?${query}`, { headers: { cookie: `session=${account.token}` } });
  expect(res.status).toBe(302);
  const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
  return { grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirectUri, client_id: CLIENT.id, code_verifier: verifier };
}

describe(`${N} concurrent requests`, () => {
  it('redeem one authorization code: exactly one 200, the rest invalid_grant', async () => {
    const exchange = await issueCode();
    const answers = await Promise.all(Array.from({ length: N }, () => token(exchange)));
    const byOutcome = tally(answers);
    expect(byOutcome).toEqual({ 200: 1, '400 invalid_grant': N - 1 });
    held.push(`one code → ${JSON.stringify(byOutcome)}`);
  });

  it('refresh one refresh token: one success at most, and the family revoked', async () => {
    const exchange = await issueCode();
    const redeemed = await token(exchange);
    expect(redeemed.status).toBe(200);
    const [{ grantId }] = (await t.db
      .select({ grantId: oauthRefreshTokens.grantId })
      .from(oauthRefreshTokens)
      .innerJoin(oauthGrants, eq(oauthGrants.id, oauthRefreshTokens.grantId))
      .where(eq(oauthGrants.clientId, CLIENT.id))
      .orderBy(oauthGrants.createdAt)) as [{ grantId: string }];
    expect(grantId).toBeTruthy();

    const refresh = { grant_type: 'refresh_token', refresh_token: redeemed.body.refresh_token, client_id: CLIENT.id };
    const answers = await Promise.all(Array.from({ length: N }, () => token(refresh)));
    const byOutcome = tally(answers);
    expect(byOutcome['200']).toBe(1);
    expect(byOutcome['400 invalid_grant']).toBe(N - 1);
    // The losers presented a rotated token: the family is gone, the winner's new token with it.
    const winner = answers.find((a) => a.status === 200)!;
    expect((await token({ ...refresh, refresh_token: winner.body.refresh_token })).body.error).toBe('invalid_grant');
    const grants = await t.db.select({ n: count() }).from(oauthGrants).where(eq(oauthGrants.id, grantId));
    expect(grants[0]!.n).toBe(0);
    held.push(`one refresh token → ${JSON.stringify(byOutcome)}, family revoked`);
  });
});
