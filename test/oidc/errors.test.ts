import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationRequest, authorizeWith, codeFlow, postForm, SPA, startProvider, WEB, type Provider } from './provider';

let p: Provider;
let cookie: string;
beforeAll(async () => {
  p = await startProvider();
  cookie = (await p.signIn()).cookie;
});
afterAll(() => p.close());

/** The query of an authorization request that passes every check, with some parameters replaced (null: left out). */
function authorizeQuery(changes: Record<string, string | null> = {}): string {
  const params: Record<string, string | null> = {
    response_type: 'code',
    client_id: SPA.id,
    redirect_uri: SPA.redirectUri,
    scope: 'openid email',
    state: 'the-state',
    nonce: 'the-nonce',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    ...changes,
  };
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null) search.append(name, value);
  return `/oauth/authorize?${search}`;
}

async function authorizeRaw(changes: Record<string, string | null>, withCookie = true) {
  const res = await p.fetch(authorizeQuery(changes), { headers: withCookie ? { cookie } : {} });
  return { status: res.status, location: res.headers.get('location'), body: await res.text(), type: res.headers.get('content-type') };
}

describe('GET /oauth/authorize refuses without redirecting', () => {
  it.each([
    ['an unknown client_id', { client_id: 'nobody' }],
    ['no client_id', { client_id: null }],
    ['an unregistered redirect_uri', { redirect_uri: 'https://evil.example/callback' }],
    ['a redirect_uri that only starts like a registered one', { redirect_uri: `${SPA.redirectUri}/more` }],
    ['a redirect_uri with an extra query', { redirect_uri: `${SPA.redirectUri}?x=1` }],
    ['a loopback redirect_uri on another path', { redirect_uri: 'http://127.0.0.1:4000/elsewhere' }],
    ['a localhost redirect_uri for a registered 127.0.0.1 one', { redirect_uri: 'http://localhost:4000/native/callback' }],
    ['no redirect_uri', { redirect_uri: null }],
  ])('%s: 400, an error page, no Location', async (_name, changes) => {
    const res = await authorizeRaw(changes);
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    expect(res.type).toMatch(/^text\/html/);
  });
});

describe('GET /oauth/authorize reports other errors to the client', () => {
  it.each([
    ['unsupported_response_type', { response_type: 'token' }],
    ['unsupported_response_type', { response_type: 'id_token' }],
    ['invalid_request', { response_type: null }],
    ['invalid_scope', { scope: 'email profile' }],
    ['invalid_scope', { scope: null }],
    ['invalid_request', { code_challenge: null }],
    ['invalid_request', { code_challenge_method: null }],
    ['invalid_request', { code_challenge_method: 'plain' }],
    ['invalid_request', { code_challenge: 'short' }],
    ['invalid_request', { prompt: 'none login' }],
    ['invalid_request', { prompt: 'bogus' }],
    ['invalid_request', { max_age: '-1' }],
    ['invalid_request', { request: 'eyJhbGciOiJub25lIn0.e30.' }],
    ['invalid_request', { response_mode: 'form_post' }],
  ])('%s for %j, with error_description, state and iss', async (error, changes) => {
    const res = await authorizeRaw(changes);
    expect(res.status).toBe(302);
    const location = new URL(res.location!);
    expect(location.origin + location.pathname).toBe(SPA.redirectUri);
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('error_description')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('the-state');
    expect(location.searchParams.get('iss')).toBe(p.issuer);
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('a repeated parameter is invalid_request', async () => {
    const res = await p.fetch(`${authorizeQuery()}&scope=openid`, { headers: { cookie } });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('prompt=none without a session is login_required; with one it is the code', async () => {
    const none = await authorizeRaw({ prompt: 'none' }, false);
    expect(none.status).toBe(302);
    const location = new URL(none.location!);
    expect(location.searchParams.get('error')).toBe('login_required');
    expect(location.searchParams.get('state')).toBe('the-state');
    expect(location.searchParams.get('iss')).toBe(p.issuer);
    const signedIn = await authorizeRaw({ prompt: 'none' });
    expect(new URL(signedIn.location!).searchParams.get('code')).toBeTruthy();
    // prompt=none with max_age=0 can never be met without asking.
    const fresh = await authorizeRaw({ prompt: 'none', max_age: '0' });
    expect(new URL(fresh.location!).searchParams.get('error')).toBe('login_required');
  });

  it('a revoked or expired session cookie counts as no session', async () => {
    const account = await p.signIn();
    expect((await p.t.request('DELETE', `/auth/sessions/${account.session.id}`, { token: account.token })).status).toBe(204);
    const res = await p.fetch(authorizeQuery({ prompt: 'none' }), { headers: { cookie: account.cookie } });
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('login_required');
    const page = await p.fetch(authorizeQuery(), { headers: { cookie: 'session=garbage' } });
    expect(page.status).toBe(200);
  });
});

describe('POST /oauth/token errors', () => {
  /** A fresh code for the SPA, and the rest of a good exchange. */
  async function freshCode(redirectUri = SPA.redirectUri) {
    const config = await p.client();
    const request = await authorizationRequest(config, { redirectUri });
    const { location } = await authorizeWith(p, request.url, cookie);
    return {
      grant_type: 'authorization_code',
      code: location!.searchParams.get('code')!,
      redirect_uri: redirectUri,
      client_id: SPA.id,
      code_verifier: request.verifier,
    };
  }

  const expectError = (res: { status: number; body: any; headers: Headers }, status: number, error: string) => {
    expect(res.body, JSON.stringify(res.body)).toEqual({ error, error_description: expect.any(String) });
    expect(res.status).toBe(status);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
  };

  it('a wrong code_verifier is invalid_grant, and burns the code', async () => {
    const exchange = await freshCode();
    expectError(await postForm(p, '/oauth/token', { ...exchange, code_verifier: 'w'.repeat(43) }), 400, 'invalid_grant');
    expectError(await postForm(p, '/oauth/token', exchange), 400, 'invalid_grant');
  });

  it('a wrong redirect_uri is invalid_grant', async () => {
    const exchange = await freshCode();
    expectError(await postForm(p, '/oauth/token', { ...exchange, redirect_uri: 'http://127.0.0.1:9/native/callback' }), 400, 'invalid_grant');
  });

  it('another client redeeming the code is invalid_grant', async () => {
    const exchange = await freshCode();
    const res = await postForm(p, '/oauth/token', { ...exchange, client_id: WEB.id, client_secret: WEB.secret });
    expectError(res, 400, 'invalid_grant');
  });

  it('an expired code (past 60 s) is invalid_grant', async () => {
    const exchange = await freshCode();
    p.t.clock.advance(61_000);
    expectError(await postForm(p, '/oauth/token', exchange), 400, 'invalid_grant');
  });

  it('an unknown code is invalid_grant', async () => {
    const exchange = await freshCode();
    expectError(await postForm(p, '/oauth/token', { ...exchange, code: 'not-a-code' }), 400, 'invalid_grant');
  });

  it('a used code is invalid_grant, and revokes every token issued from it', async () => {
    const exchange = await freshCode();
    const first = await postForm(p, '/oauth/token', exchange);
    expect(first.status).toBe(200);
    const userinfo = () => p.fetch('/oauth/userinfo', { headers: { authorization: `Bearer ${first.body.access_token}` } });
    expect((await userinfo()).status).toBe(200);
    expectError(await postForm(p, '/oauth/token', exchange), 400, 'invalid_grant');
    expectError(await postForm(p, '/oauth/token', { grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: SPA.id }), 400, 'invalid_grant');
    const revoked = await userinfo();
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('a missing code_verifier is invalid_request; so are a missing code and a non-form body', async () => {
    const exchange = await freshCode();
    const { code_verifier: _verifier, ...withoutVerifier } = exchange;
    expectError(await postForm(p, '/oauth/token', withoutVerifier), 400, 'invalid_request');
    const { code: _code, ...withoutCode } = exchange;
    expectError(await postForm(p, '/oauth/token', withoutCode), 400, 'invalid_request');
    const json = await p.fetch('/oauth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(exchange) });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
    const repeated = await p.fetch('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${new URLSearchParams(exchange)}&code=again`,
    });
    expect(await repeated.json()).toMatchObject({ error: 'invalid_request' });
    // The code survived all of these: none of them reached it.
    expect((await postForm(p, '/oauth/token', exchange)).status).toBe(200);
  });

  it('unsupported_grant_type for another grant; invalid_request without one', async () => {
    expectError(await postForm(p, '/oauth/token', { grant_type: 'password', client_id: SPA.id, username: 'a', password: 'b' }), 400, 'unsupported_grant_type');
    expectError(await postForm(p, '/oauth/token', { grant_type: 'client_credentials', client_id: SPA.id }), 400, 'unsupported_grant_type');
    expectError(await postForm(p, '/oauth/token', { client_id: SPA.id }), 400, 'invalid_request');
  });

  it('invalid_client (401): unknown client, no client_id, wrong or missing secret, a secret for a public client', async () => {
    const exchange = await freshCode();
    expectError(await postForm(p, '/oauth/token', { ...exchange, client_id: 'nobody' }), 401, 'invalid_client');
    const { client_id: _id, ...anonymous } = exchange;
    expectError(await postForm(p, '/oauth/token', anonymous), 401, 'invalid_client');
    expectError(await postForm(p, '/oauth/token', { ...exchange, client_secret: 'anything-at-all' }), 401, 'invalid_client');
    const web = { ...exchange, client_id: WEB.id };
    expectError(await postForm(p, '/oauth/token', web), 401, 'invalid_client');
    expectError(await postForm(p, '/oauth/token', { ...web, client_secret: `${WEB.secret}x` }), 401, 'invalid_client');
    const basic = await postForm(p, '/oauth/token', anonymous, { authorization: `Basic ${btoa(`${WEB.id}:wrong-secret`)}` });
    expect(basic.status).toBe(401);
    expect(basic.body.error).toBe('invalid_client');
    expect(basic.headers.get('www-authenticate')).toBe(`Basic realm="${p.issuer}"`);
    const malformed = await postForm(p, '/oauth/token', exchange, { authorization: 'Basic !!!' });
    expect(malformed.status).toBe(401);
    expect(malformed.body.error).toBe('invalid_client');
    // The code was never touched by the refused attempts.
    expect((await postForm(p, '/oauth/token', exchange)).status).toBe(200);
  });

  it('a deleted client is invalid_client, and its refresh tokens stop at once', async () => {
    const admin = await p.signIn(p.adminEmail);
    const created = await p.t.request('POST', '/admin/clients', {
      token: admin.token,
      body: { name: 'Doomed', redirectUris: ['https://doomed.example.test/cb'], type: 'confidential' },
    });
    expect(created.status).toBe(201);
    const { client, secret } = created.body;
    const config = await p.client(client.id, oidc.ClientSecretPost(secret), secret);
    const { tokens } = await codeFlow(p, config, { redirectUri: 'https://doomed.example.test/cb' });
    expect((await p.t.request('DELETE', `/admin/clients/${client.id}`, { token: admin.token })).status).toBe(204);
    expectError(await postForm(p, '/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: client.id, client_secret: secret }), 401, 'invalid_client');
    const userinfo = await p.fetch('/oauth/userinfo', { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status).toBe(401);
    // Re-registering is a new client with a new id: nothing of the old one comes back.
    const authorize = await p.fetch(authorizeQuery({ client_id: client.id, redirect_uri: 'https://doomed.example.test/cb' }));
    expect(authorize.status).toBe(400);
  });
});
