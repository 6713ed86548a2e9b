import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeIdentity } from '../../src/domain/spacetime/identity';
import { authorizationRequest, authorizeWith, codeFlow, LOOPBACK_REDIRECT, postForm, SPA, startProvider, WEB, type Provider } from './provider';

let p: Provider;
beforeAll(async () => {
  p = await startProvider();
});
afterAll(() => p.close());

describe('the authorization code flow with openid-client', () => {
  it('discovers every endpoint of the contract', async () => {
    const config = await p.client();
    const metadata = config.serverMetadata();
    expect(metadata).toMatchObject({
      issuer: p.issuer,
      authorization_endpoint: `${p.issuer}/oauth/authorize`,
      token_endpoint: `${p.issuer}/oauth/token`,
      userinfo_endpoint: `${p.issuer}/oauth/userinfo`,
      end_session_endpoint: `${p.issuer}/oauth/logout`,
      revocation_endpoint: `${p.issuer}/oauth/revoke`,
      jwks_uri: `${p.issuer}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      id_token_signing_alg_values_supported: ['ES256'],
      subject_types_supported: ['public'],
      authorization_response_iss_parameter_supported: true,
    });
    const asMetadata = await (await p.fetch('/.well-known/oauth-authorization-server')).json();
    expect(asMetadata).toEqual(await (await p.fetch('/.well-known/openid-configuration')).json());
  });

  it('discovery and the JWKS are public documents: Access-Control-Allow-Origin *, no credentials', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
      const res = await p.fetch(path, { headers: { origin: 'https://anyone.example' } });
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
      expect(res.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
  });

  it('redirects a signed-in browser at once with code, state and iss, and the code buys the tokens', async () => {
    const config = await p.client();
    const account = await p.signIn();
    const { tokens, location, request } = await codeFlow(p, config, { cookie: account.cookie });
    expect(location.origin + location.pathname).toBe(SPA.redirectUri);
    expect(location.searchParams.get('state')).toBe(request.state);
    expect(location.searchParams.get('iss')).toBe(p.issuer);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('openid profile email offline_access');
    expect(tokens.refresh_token).toBeTruthy();

    // The id_token: verified with jose against the JWKS, as SpacetimeDB would.
    const jwks = createRemoteJWKSet(new URL(`${p.issuer}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, { issuer: p.issuer, audience: SPA.id });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: expect.any(String) });
    expect(payload).toMatchObject({
      iss: p.issuer,
      sub: account.user.id,
      aud: SPA.id,
      nonce: request.nonce,
      sid: account.session.id,
      amr: ['otp'],
      email: account.email,
      email_verified: true,
      hex_identity: account.user.identity,
    });
    expect(typeof payload.aud).toBe('string');
    expect(Number.isInteger(payload.iat)).toBe(true);
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.auth_time).toBe(Math.floor(new Date(account.session.createdAt).getTime() / 1000));
    // SpacetimeDB's identity rule: the token names the account's own identity.
    expect(computeIdentity(payload.iss!, payload.sub!)).toBe(payload.hex_identity);
    expect(Buffer.byteLength(payload.sub!)).toBeLessThanOrEqual(128);

    // The access token: RFC 9068.
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: p.issuer, audience: `${p.issuer}/oauth/userinfo`, typ: 'at+jwt' });
    expect(access.payload).toMatchObject({ sub: account.user.id, client_id: SPA.id, scope: tokens.scope, sid: account.session.id, jti: expect.any(String) });
    expect(access.payload.exp! - access.payload.iat!).toBeLessThanOrEqual(3600);
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
  });

  it('carries the primary profile with scope profile, and leaves out what the scopes do not ask', async () => {
    const config = await p.client();
    const account = await p.signIn();
    const handle = `ada_${Date.now()}`;
    const created = await p.t.request('POST', '/identities', { token: account.token, body: { displayName: 'Ada L.', handle, avatarUrl: 'https://img.example/ada.png' } });
    expect(created.status).toBe(201);
    const full = await codeFlow(p, config, { cookie: account.cookie, scope: 'openid profile' });
    expect(full.tokens.claims()).toMatchObject({ name: 'Ada L.', preferred_username: handle, picture: 'https://img.example/ada.png' });
    expect(full.tokens.claims()).not.toHaveProperty('email');
    expect(full.tokens.refresh_token).toBeUndefined();
    const bare = await codeFlow(p, config, { cookie: account.cookie, scope: 'openid unknown-scope' });
    expect(bare.tokens.scope).toBe('openid');
    expect(bare.tokens.claims()).not.toHaveProperty('name');
    expect(bare.tokens.claims()).not.toHaveProperty('email');
  });

  it('accepts a loopback IP redirect URI on any port (RFC 8252 §7.3)', async () => {
    const config = await p.client();
    const redirectUri = LOOPBACK_REDIRECT.replace('127.0.0.1', '127.0.0.1:51234');
    const { location } = await codeFlow(p, config, { redirectUri });
    expect(location.host).toBe('127.0.0.1:51234');
  });

  it('a confidential client authenticates with client_secret_basic and client_secret_post', async () => {
    for (const auth of [oidc.ClientSecretBasic(WEB.secret), oidc.ClientSecretPost(WEB.secret)]) {
      const config = await p.client(WEB.id, auth, WEB.secret);
      const { tokens } = await codeFlow(p, config, { redirectUri: WEB.redirectUri, scope: 'openid email' });
      expect(tokens.claims()?.aud).toBe(WEB.id);
    }
  });

  it('shows the hosted sign-in page without a session, and /continue issues the code after signing in', async () => {
    const config = await p.client();
    const request = await authorizationRequest(config, { extra: { login_hint: 'someone@example.com' } });
    const page = await authorizeWith(p, request.url, null);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.body).toContain('The SPA');
    expect(page.body).toContain('someone@example.com');
    const requestId = /data-request="([^"]+)"/.exec(page.body)![1]!;

    // Without a session the request waits.
    const early = await p.fetch(`/oauth/authorize/continue?request=${requestId}`);
    expect(early.status).toBe(400);
    const account = await p.signIn();
    const continued = await p.fetch(`/oauth/authorize/continue?request=${requestId}`, { headers: { cookie: account.cookie } });
    expect(continued.status).toBe(302);
    const location = new URL(continued.headers.get('location')!);
    const tokens = await oidc.authorizationCodeGrant(config, location, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    expect(tokens.claims()?.sub).toBe(account.user.id);
    // The request is spent.
    const again = await p.fetch(`/oauth/authorize/continue?request=${requestId}`, { headers: { cookie: account.cookie } });
    expect(again.status).toBe(400);
    expect(await again.text()).toMatch(/expired|unknown/i);
  });

  it('prompt=login and max_age=0 ask again despite a session; the session opened afterwards continues', async () => {
    const config = await p.client();
    const account = await p.signIn();
    p.t.clock.advance(1000);
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      const request = await authorizationRequest(config, { extra });
      const page = await authorizeWith(p, request.url, account.cookie);
      expect(page.status, JSON.stringify(extra)).toBe(200);
      const requestId = /data-request="([^"]+)"/.exec(page.body)![1]!;
      // The old session is not enough…
      const stale = await p.fetch(`/oauth/authorize/continue?request=${requestId}`, { headers: { cookie: account.cookie } });
      expect(stale.status).toBe(302);
      expect(new URL(stale.headers.get('location')!).searchParams.get('error')).toBe('login_required');
    }
    // …a session opened after the request is.
    const request = await authorizationRequest(config, { extra: { prompt: 'login' } });
    const page = await authorizeWith(p, request.url, account.cookie);
    const requestId = /data-request="([^"]+)"/.exec(page.body)![1]!;
    p.t.clock.advance(1000);
    const fresh = await p.signIn(account.email);
    const continued = await p.fetch(`/oauth/authorize/continue?request=${requestId}`, { headers: { cookie: fresh.cookie } });
    expect(continued.status).toBe(302);
    expect(new URL(continued.headers.get('location')!).searchParams.get('code')).toBeTruthy();
  });

  it('max_age is satisfied by a recent enough session, and auth_time says when it signed in', async () => {
    const config = await p.client();
    const account = await p.signIn();
    p.t.clock.advance(120_000);
    const recent = await codeFlow(p, config, { cookie: account.cookie });
    expect(recent.tokens.claims()?.auth_time).toBeLessThan(Math.floor(p.t.clock.now().getTime() / 1000) - 100);
    const request = await authorizationRequest(config, { extra: { max_age: '60' } });
    expect((await authorizeWith(p, request.url, account.cookie)).status).toBe(200);
    const lenient = await authorizationRequest(config, { extra: { max_age: '600' } });
    expect((await authorizeWith(p, lenient.url, account.cookie)).status).toBe(302);
  });

  it('answers the token endpoint with no-store and no-cache', async () => {
    const config = await p.client();
    const account = await p.signIn();
    const request = await authorizationRequest(config);
    const { location } = await authorizeWith(p, request.url, account.cookie);
    const res = await postForm(p, '/oauth/token', {
      grant_type: 'authorization_code',
      code: location!.searchParams.get('code')!,
      redirect_uri: request.redirectUri,
      client_id: SPA.id,
      code_verifier: request.verifier,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'openid profile email offline_access' });
  });
});
