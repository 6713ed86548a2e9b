import { pkceAuthorization } from '../helpers/pkce';
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

async function issueCode(account?: { token: string }) {
  account ??= await t.signIn();
  const { query, redeem } = pkceAuthorization(CLIENT);
  const res = await t.app.request(`/oauth/authorize?${query}`, { headers: { cookie: `session=${account.token}` } });
  expect(res.status).toBe(302);
  return redeem(res.headers.get('location')!);
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

  it('sign-outs racing redemptions and refreshes of their session: never a 5xx, and nothing outlives the session', async () => {
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < 25; round++) {
      const account = await t.signIn();
      const first = await token(await issueCode(account));
      expect(first.status).toBe(200);
      const codes = await Promise.all(Array.from({ length: 4 }, () => issueCode(account)));
      const answers = await Promise.all([
        t.request('DELETE', '/auth/sessions', { token: account.token }),
        ...codes.map((exchange) => token(exchange)),
        token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: CLIENT.id }),
      ]);
      for (const answer of answers) {
        const key = `${answer.status}${answer.body?.error ? ` ${typeof answer.body.error === 'string' ? answer.body.error : answer.body.error.code}` : ''}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
        expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
      }
      expect(answers[0]!.status).toBe(204);
      // Whatever won a race, the session is gone and so is every grant it had.
      for (const answer of answers.slice(1).filter((a) => a.status === 200 && a.body.refresh_token)) {
        expect((await token({ grant_type: 'refresh_token', refresh_token: answer.body.refresh_token, client_id: CLIENT.id })).body.error).toBe('invalid_grant');
      }
    }
    for (const status of Object.keys(outcomes)) expect(['200', '204', '400 invalid_grant']).toContain(status);
    held.push(`sign-out racing 5 redemptions and refreshes, 25 rounds → ${JSON.stringify(outcomes)}`);
  });
});
