import { pkceAuthorization } from '../../helpers/pkce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueEmail } from '../../helpers/app';
import { readAnswer } from '../../helpers/http';
import type { RunningServer } from '../../helpers/server';
import { call, startServerPair, type ServerPair } from './pair';

// The OpenID Connect provider on two server processes over one PostgreSQL: a code issued by one
// is redeemed once across both, and a session ended on one ends its refresh tokens on the other
// at once (the grants are deleted with the session; no process has to hear of it).
const ISSUER = 'http://localhost:1';
const CLIENT = { id: 'pair-spa', redirectUri: 'https://pair.example.test/cb' };
let pair: ServerPair;
let a: RunningServer;
let b: RunningServer;
const figures: string[] = [];

beforeAll(async () => {
  pair = await startServerPair({ ISSUER, ORIGIN: ISSUER, OIDC_CLIENTS: JSON.stringify([{ id: CLIENT.id, redirectUris: [CLIENT.redirectUri] }]) });
  ({ a, b } = pair);
});
afterAll(async () => {
  console.log(`oidc on two processes: ${figures.join('; ')}`);
  await pair?.stop();
});

let clients = 0;
async function send(server: RunningServer, method: string, path: string, options: { form?: Record<string, string>; cookie?: string; bearer?: string } = {}) {
  const headers: Record<string, string> = { 'x-forwarded-for': `198.18.0.${++clients % 250}` };
  if (options.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  if (options.cookie) headers.cookie = options.cookie;
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  return readAnswer(await fetch(`${server.url}${path}`, { method, headers, body: options.form && new URLSearchParams(options.form).toString(), redirect: 'manual' }));
}

async function signIn(server: RunningServer) {
  const email = uniqueEmail('pair-oidc');
  expect((await call(server, 'POST', '/auth/verify', { body: { email } })).status).toBe(202);
  const code = (await pair.smtp.waitFor(email)).text.match(/\b(\d{6})\b/)![1]!;
  const res = await call(server, 'POST', '/auth/sessions', { body: { method: 'otp', email, token: code } });
  expect(res.status).toBe(201);
  return res.body as { token: string; session: { id: string } };
}

async function codeFrom(server: RunningServer, token: string) {
  const { query, redeem } = pkceAuthorization(CLIENT);
  const res = await send(server, 'GET', `/oauth/authorize?${query}`, { cookie: `session=${token}` });
  expect(res.status).toBe(302);
  return redeem(res.headers.get('location')!);
}

describe('the OpenID Connect provider on two processes', () => {
  it('redeems a code once across both: twenty redemptions, half to each, one 200', async () => {
    const account = await signIn(a);
    const exchange = await codeFrom(a, account.token);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i % 2 ? a : b, 'POST', '/oauth/token', { form: exchange })));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.status !== 200).every((r) => r.status === 400 && r.body.error === 'invalid_grant')).toBe(true);
    figures.push('one code, 20 redemptions over both → one 200');
  });

  it('a session revoked on B ends its refresh and access tokens on A at once', async () => {
    const account = await signIn(a);
    const tokens = await send(b, 'POST', '/oauth/token', { form: await codeFrom(a, account.token) });
    expect(tokens.status).toBe(200);
    const refreshed = await send(a, 'POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: CLIENT.id } });
    expect(refreshed.status).toBe(200);
    expect((await send(a, 'GET', '/oauth/userinfo', { bearer: refreshed.body.access_token })).status).toBe(200);

    expect((await call(b, 'DELETE', `/auth/sessions/${account.session.id}`, { token: account.token })).status).toBe(204);
    const after = await send(a, 'POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token, client_id: CLIENT.id } });
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_grant');
    expect((await send(a, 'GET', '/oauth/userinfo', { bearer: refreshed.body.access_token })).status).toBe(401);
    figures.push('revocation on B refused on A on the very next request');
  });
});
