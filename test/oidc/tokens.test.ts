import { eq } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauthClients, sessions } from '../../src/db/schema';
import { codeFlow, postForm, SPA, startProvider, type Provider } from './provider';

let p: Provider;
let config: oidc.Configuration;
beforeAll(async () => {
  p = await startProvider();
  config = await p.client();
});
afterAll(() => p.close());

const refresh = (refreshToken: string, clientId = SPA.id) => postForm(p, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
const userinfo = (token: string | null, method = 'GET') =>
  p.fetch('/oauth/userinfo', { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });

describe('refresh tokens', () => {
  it('rotate: a new refresh token and id_token with the same iss, sub, aud and auth_time, and no nonce', async () => {
    const { tokens } = await codeFlow(p, config);
    const first = tokens.claims()!;
    p.t.clock.advance(5_000);
    const renewed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(renewed.refresh_token).toBeTruthy();
    expect(renewed.refresh_token).not.toBe(tokens.refresh_token);
    const claims = renewed.claims()!;
    expect(claims).toMatchObject({ iss: first.iss, sub: first.sub, aud: first.aud, auth_time: first.auth_time, sid: first.sid, hex_identity: first.hex_identity });
    expect(claims.nonce).toBeUndefined();
    expect(claims.iat).toBeGreaterThan(first.iat);
    // The new one works in turn.
    expect((await refresh(renewed.refresh_token!)).status).toBe(200);
  });

  it('an already-rotated token is invalid_grant and revokes the whole family', async () => {
    const { tokens } = await codeFlow(p, config);
    const rotated = await refresh(tokens.refresh_token!);
    expect(rotated.status).toBe(200);
    const replay = await refresh(tokens.refresh_token!);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    // The family is gone: the current token and the access tokens of the grant too.
    expect((await refresh(rotated.body.refresh_token)).body.error).toBe('invalid_grant');
    expect((await userinfo(rotated.body.access_token)).status).toBe(401);
    expect((await userinfo(tokens.access_token)).status).toBe(401);
  });

  it('belong to their client: another client presenting one gets invalid_grant, and the token survives', async () => {
    const admin = await p.signIn(p.adminEmail);
    const other = await p.t.request('POST', '/admin/clients', { token: admin.token, body: { name: 'Other', redirectUris: ['https://other.example.test/cb'], type: 'public' } });
    const { tokens } = await codeFlow(p, config);
    expect((await refresh(tokens.refresh_token!, other.body.client.id)).body.error).toBe('invalid_grant');
    expect((await refresh(tokens.refresh_token!)).status).toBe(200);
  });

  it('die at once with their session: revoked by the user, by an admin, or signed out', async () => {
    const account = await p.signIn();
    const [byUser, byAdmin] = [await codeFlow(p, config, { cookie: account.cookie }), await codeFlow(p, config, { cookie: account.cookie })];
    expect((await p.t.request('DELETE', `/auth/sessions/${account.session.id}`, { token: account.token })).status).toBe(204);
    expect((await refresh(byUser.tokens.refresh_token!)).body.error).toBe('invalid_grant');
    expect((await refresh(byAdmin.tokens.refresh_token!)).body.error).toBe('invalid_grant');
    expect((await userinfo(byUser.tokens.access_token)).status).toBe(401);

    const second = await p.signIn(account.email);
    const flow = await codeFlow(p, config, { cookie: second.cookie });
    const admin = await p.signIn(p.adminEmail);
    expect((await p.t.request('POST', `/admin/users/${second.user.id}/revoke-sessions`, { token: admin.token })).status).toBe(200);
    expect((await refresh(flow.tokens.refresh_token!)).body.error).toBe('invalid_grant');

    const third = await p.signIn(account.email);
    const signedOut = await codeFlow(p, config, { cookie: third.cookie });
    expect((await p.t.request('DELETE', '/auth/sessions', { token: third.token })).status).toBe(204);
    expect((await refresh(signedOut.tokens.refresh_token!)).body.error).toBe('invalid_grant');
  });

  it('die with an expired session, and refreshing slides a session in use', async () => {
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, config, { cookie: account.cookie });
    const before = (await p.t.db.select().from(sessions).where(eq(sessions.id, account.session.id)))[0]!;
    p.t.clock.advance(2 * 60 * 60 * 1000);
    const renewed = await refresh(tokens.refresh_token!);
    expect(renewed.status).toBe(200);
    const after = (await p.t.db.select().from(sessions).where(eq(sessions.id, account.session.id)))[0]!;
    expect(after.expiresAt.getTime()).toBeGreaterThan(before.expiresAt.getTime());
    expect(after.lastActiveAt.getTime()).toBe(p.t.clock.now().getTime());

    const idle = await p.signIn();
    const idleFlow = await codeFlow(p, config, { cookie: idle.cookie });
    p.t.clock.advance(31 * 24 * 60 * 60 * 1000);
    expect((await refresh(idleFlow.tokens.refresh_token!)).body.error).toBe('invalid_grant');
  });
});

describe('POST /oauth/revoke (RFC 7009)', () => {
  it('revokes a refresh token’s family, and answers 200 for anything', async () => {
    const { tokens } = await codeFlow(p, config);
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect((await refresh(tokens.refresh_token!)).body.error).toBe('invalid_grant');
    expect((await userinfo(tokens.access_token)).status).toBe(401);
    for (const token of ['garbage', tokens.refresh_token!, 'a.b.c']) {
      const res = await postForm(p, '/oauth/revoke', { token, client_id: SPA.id });
      expect(res.status).toBe(200);
    }
  });

  it('revokes the grant of an access token', async () => {
    const { tokens } = await codeFlow(p, config);
    expect((await postForm(p, '/oauth/revoke', { token: tokens.access_token, client_id: SPA.id, token_type_hint: 'access_token' })).status).toBe(200);
    expect((await userinfo(tokens.access_token)).status).toBe(401);
    expect((await refresh(tokens.refresh_token!)).body.error).toBe('invalid_grant');
  });

  it('ignores another client’s token; a confidential client needs its secret', async () => {
    const { tokens } = await codeFlow(p, config);
    expect((await postForm(p, '/oauth/revoke', { token: tokens.refresh_token!, client_id: 'web', client_secret: 'web-secret-0123456789abcdef' })).status).toBe(200);
    expect((await refresh(tokens.refresh_token!)).status).toBe(200);
    const res = await postForm(p, '/oauth/revoke', { token: 'x', client_id: 'web' });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect((await postForm(p, '/oauth/revoke', { client_id: SPA.id })).body.error).toBe('invalid_request');
  });
});

describe('GET|POST /oauth/userinfo', () => {
  it('answers the claims of the scopes, by GET and POST, with openid-client', async () => {
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, config, { cookie: account.cookie, scope: 'openid email' });
    const claims = await oidc.fetchUserInfo(config, tokens.access_token, account.user.id);
    expect(claims).toEqual({ sub: account.user.id, hex_identity: account.user.identity, email: account.email, email_verified: true });
    const posted = await userinfo(tokens.access_token, 'POST');
    expect(posted.status).toBe(200);
    expect(await posted.json()).toEqual(claims);
    expect(posted.headers.get('cache-control')).toBe('no-store');
  });

  it('401 with a plain Bearer challenge without a token, and error="invalid_token" for a bad one', async () => {
    const none = await userinfo(null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    for (const bad of ['garbage', 'a.b.c']) {
      const res = await userinfo(bad);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(await res.json()).toMatchObject({ error: 'invalid_token' });
    }
    const { tokens } = await codeFlow(p, config);
    // An id token is no access token.
    expect((await userinfo(tokens.id_token!)).status).toBe(401);
    const session = await p.signIn();
    expect((await userinfo(session.token)).status).toBe(401);
  });

  it('refuses an expired access token and one whose session ended', async () => {
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, config, { cookie: account.cookie });
    expect((await userinfo(tokens.access_token)).status).toBe(200);
    p.t.clock.advance(3601_000);
    expect((await userinfo(tokens.access_token)).headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');

    const other = await p.signIn();
    const live = await codeFlow(p, config, { cookie: other.cookie });
    expect((await p.t.request('DELETE', '/auth/sessions', { token: other.token })).status).toBe(204);
    expect((await userinfo(live.tokens.access_token)).status).toBe(401);
  });
});

describe('OIDC tokens on the identity routes', () => {
  it('an id_token passes the identity routes but never mints a websocket token; an access token passes nothing', async () => {
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, config, { cookie: account.cookie });
    const idToken = tokens.id_token!;
    expect(decodeJwt(idToken).aud).toBe(SPA.id);
    const verify = (token: string) => p.t.request('GET', `/v1/identity/${account.user.identity}/verify`, { token });
    expect((await verify(idToken)).status).toBe(204);
    expect((await p.t.request('POST', '/v1/identity/websocket-token', { token: idToken })).status).toBe(401);
    expect((await p.t.request('POST', '/identity/websocket_token', { token: idToken })).status).toBe(401);

    expect((await verify(tokens.access_token)).status).toBe(401);
    expect((await p.t.request('POST', '/v1/identity/websocket-token', { token: tokens.access_token })).status).toBe(401);
  });

  it('an id_token of a deleted client is refused', async () => {
    const admin = await p.signIn(p.adminEmail);
    const created = await p.t.request('POST', '/admin/clients', { token: admin.token, body: { name: 'Short-lived', redirectUris: ['https://short.example.test/cb'], type: 'public' } });
    const clientId = created.body.client.id;
    const shortConfig = await p.client(clientId);
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, shortConfig, { cookie: account.cookie, redirectUri: 'https://short.example.test/cb' });
    const verify = () => p.t.request('GET', `/v1/identity/${account.user.identity}/verify`, { token: tokens.id_token! });
    expect((await verify()).status).toBe(204);
    expect((await p.t.request('DELETE', `/admin/clients/${clientId}`, { token: admin.token })).status).toBe(204);
    expect((await verify()).status).toBe(401);
  });
});

describe('/admin/clients', () => {
  it('registers clients (a confidential one’s secret shown once, stored hashed), lists them without secrets, deletes them', async () => {
    const admin = await p.signIn(p.adminEmail);
    const body = { name: 'Dashboard', redirectUris: ['https://dash.example.test/cb'], postLogoutRedirectUris: ['https://dash.example.test/'], type: 'confidential' };
    const created = await p.t.request('POST', '/admin/clients', { token: admin.token, body });
    expect(created.status).toBe(201);
    expect(created.body.client).toEqual({ id: expect.any(String), name: 'Dashboard', redirectUris: body.redirectUris, postLogoutRedirectUris: body.postLogoutRedirectUris, type: 'confidential', source: 'admin' });
    const secret: string = created.body.secret;
    expect(Buffer.from(secret, 'base64url').length).toBeGreaterThanOrEqual(32);
    const [row] = await p.t.db.select().from(oauthClients).where(eq(oauthClients.id, created.body.client.id));
    expect(row!.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.secretHash).not.toContain(secret);

    const list = await p.t.request('GET', '/admin/clients', { token: admin.token });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(list.body.clients.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(['spa', 'web', created.body.client.id]));
    expect(list.body.clients.find((c: { id: string }) => c.id === 'web')).toMatchObject({ type: 'confidential', source: 'config' });

    const publicClient = await p.t.request('POST', '/admin/clients', { token: admin.token, body: { ...body, type: 'public' } });
    expect(publicClient.body).not.toHaveProperty('secret');

    expect((await p.t.request('DELETE', `/admin/clients/${created.body.client.id}`, { token: admin.token })).status).toBe(204);
    expect((await p.t.request('DELETE', `/admin/clients/${created.body.client.id}`, { token: admin.token })).status).toBe(404);
    expect((await p.t.request('DELETE', '/admin/clients/spa', { token: admin.token })).status).toBe(400);
  });

  it('refuses bad redirect URIs, and anyone without users:write', async () => {
    const admin = await p.signIn(p.adminEmail);
    for (const redirectUris of [['http://evil.example/cb'], ['https://app.example/cb#frag'], ['not a url'], []]) {
      const res = await p.t.request('POST', '/admin/clients', { token: admin.token, body: { name: 'X', redirectUris, type: 'public' } });
      expect(res.status, JSON.stringify(redirectUris)).toBe(400);
    }
    const user = await p.signIn();
    expect((await p.t.request('GET', '/admin/clients', { token: user.token })).status).toBe(403);
    expect((await p.t.request('POST', '/admin/clients', { token: user.token, body: { name: 'X', redirectUris: ['https://x.example/cb'], type: 'public' } })).status).toBe(403);
    expect((await p.t.request('DELETE', '/admin/clients/spa', { token: user.token })).status).toBe(403);
    expect((await p.t.request('GET', '/admin/clients')).status).toBe(401);
  });
});

describe('CORS of the token, userinfo and revocation endpoints', () => {
  it('allows the origins of the clients’ redirect URIs (loopback IPs on any port), without credentials', async () => {
    const admin = await p.signIn(p.adminEmail);
    await p.t.request('POST', '/admin/clients', { token: admin.token, body: { name: 'Registered', redirectUris: ['https://registered.example.test/cb'], type: 'public' } });
    for (const origin of ['https://app.example.test', 'http://127.0.0.1:5173', 'https://registered.example.test']) {
      for (const path of ['/oauth/token', '/oauth/userinfo', '/oauth/revoke']) {
        const preflight = await p.fetch(path, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
        });
        expect(preflight.status, `${origin} ${path}`).toBe(204);
        expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
        expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
        expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
        expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      }
      const res = await postForm(p, '/oauth/token', { grant_type: 'password', client_id: SPA.id }, { origin });
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    }
    for (const origin of ['https://evil.example', 'http://localhost:5173', 'null']) {
      const res = await postForm(p, '/oauth/token', { grant_type: 'password', client_id: SPA.id }, { origin });
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });
});
