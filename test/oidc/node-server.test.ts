import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeIdentity } from '../../src/domain/spacetime/identity';
import { createTestDatabase, driver, type TestDatabase } from '../helpers/db';
import { freePort } from '../helpers/free-port';
import { startNodeServer, type RunningServer } from '../helpers/server';
import { startSmtpSink } from '../helpers/smtp';

// The code flow against the real server process (`src/entry/node.ts`: node:crypto hashing, and
// on PostgreSQL the session cache fed by LISTEN/NOTIFY), signing in through /auth/* with the
// code from a real SMTP sink, as the hosted page does.
let database: TestDatabase | undefined;
let dataDir: string;
let server: RunningServer;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
const CLIENT = { id: 'node-spa', redirectUri: 'http://127.0.0.1/app/callback', postLogout: 'http://127.0.0.1/app/bye' };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'auth-oidc-'));
  if (driver === 'postgres') database = await createTestDatabase();
  smtp = await startSmtpSink();
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  server = await startNodeServer(
    {
      ...(database ? { DATABASE_URL: database.url!, AUTH_SECRET: 'c'.repeat(64) } : { DATA_DIR: join(dataDir, 'data') }),
      SMTP_URL: smtp.url,
      MAIL: 'smtp',
      ISSUER: issuer,
      ORIGIN: issuer,
      OIDC_CLIENTS: JSON.stringify([{ id: CLIENT.id, redirectUris: [CLIENT.redirectUri], postLogoutRedirectUris: [CLIENT.postLogout] }]),
    },
    { port },
  );
});
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(email: string): Promise<string> {
  const json = { 'content-type': 'application/json' };
  expect((await fetch(`${server.url}/auth/verify`, { method: 'POST', headers: json, body: JSON.stringify({ email }) })).status).toBe(202);
  const code = (await smtp.waitFor(email)).text.match(/\b(\d{6})\b/)![1]!;
  const res = await fetch(`${server.url}/auth/sessions`, { method: 'POST', headers: json, body: JSON.stringify({ method: 'otp', email, token: code }) });
  expect(res.status).toBe(201);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('session='))!;
  return cookie.split(';')[0]!;
}

describe('the OpenID Connect provider in the Node server', () => {
  it('runs the code flow, refreshes, serves userinfo, and signing out kills the refresh token at once', async () => {
    const config = await oidc.discovery(new URL(server.url), CLIENT.id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const email = `node-oidc-${process.pid}@example.com`;
    const cookie = await signIn(email);

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const redirectUri = CLIENT.redirectUri.replace('127.0.0.1', '127.0.0.1:43123');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const authorized = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    expect(authorized.status).toBe(302);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(authorized.headers.get('location')!), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });

    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)), { issuer: server.url, audience: CLIENT.id });
    expect(payload.email).toBe(email);
    expect(payload.hex_identity).toBe(computeIdentity(server.url, payload.sub!));
    expect(await oidc.fetchUserInfo(config, tokens.access_token, payload.sub!)).toMatchObject({ email, hex_identity: payload.hex_identity });

    const renewed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(renewed.claims()?.sub).toBe(payload.sub);

    // Sign-out through the API: the session row goes, and with it every grant.
    expect((await fetch(`${server.url}/auth/sessions`, { method: 'DELETE', headers: { cookie, origin: server.url } })).status).toBe(204);
    await expect(oidc.refreshTokenGrant(config, renewed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const userinfo = await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${renewed.access_token}` } });
    expect(userinfo.status).toBe(401);
    // …and the browser is signed out for the provider too.
    const again = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    expect(again.status).toBe(200);
  });
});
