import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeFlow, postForm, SPA, startProvider, type Provider } from './provider';

let p: Provider;
let config: oidc.Configuration;
beforeAll(async () => {
  p = await startProvider();
  config = await p.client();
});
afterAll(() => p.close());

const sessionLives = async (token: string) => (await p.t.request('GET', '/auth/sessions/current', { token })).status === 200;
const refresh = (refreshToken: string) => postForm(p, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: SPA.id });

describe('GET /oauth/logout', () => {
  it('with a valid id_token_hint for the browser’s session: ends it, clears the cookie, redirects to the registered URI with state', async () => {
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, config, { cookie: account.cookie });
    const url = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: SPA.postLogout, state: 'bye' });
    expect(url.href.startsWith(`${p.issuer}/oauth/logout?`)).toBe(true);
    const res = await p.fetch(url.pathname + url.search, { headers: { cookie: account.cookie } });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(SPA.postLogout);
    expect(location.searchParams.get('state')).toBe('bye');
    expect(res.headers.get('set-cookie')).toMatch(/^session=;.*Max-Age=0/i);
    expect(await sessionLives(account.token)).toBe(false);
    expect((await refresh(tokens.refresh_token!)).body.error).toBe('invalid_grant');
  });

  it('an unregistered post_logout_redirect_uri gets the signed-out page instead (the session still ends)', async () => {
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, config, { cookie: account.cookie });
    const url = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/', state: 'x' });
    const res = await p.fetch(url.pathname + url.search, { headers: { cookie: account.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toMatch(/signed out/i);
    expect(await sessionLives(account.token)).toBe(false);
  });

  it('without a valid hint it signs no one out and asks to confirm', async () => {
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, config, { cookie: account.cookie });
    const tampered = `${tokens.id_token!.slice(0, -4)}AAAA`;
    const other = await p.signIn();
    const otherTokens = await codeFlow(p, config, { cookie: other.cookie });
    for (const query of [
      `?post_logout_redirect_uri=${encodeURIComponent(SPA.postLogout)}&client_id=spa`,
      `?id_token_hint=${tampered}&post_logout_redirect_uri=${encodeURIComponent(SPA.postLogout)}`,
      `?id_token_hint=${otherTokens.tokens.id_token}`,
      `?id_token_hint=${tokens.id_token}&client_id=web`,
      `?id_token_hint=${tokens.access_token}`,
    ]) {
      const res = await p.fetch(`/oauth/logout${query}`, { headers: { cookie: account.cookie } });
      expect(res.status, query).toBe(200);
      const html = await res.text();
      expect(html).toMatch(/<form method="post" action="\/oauth\/logout">/);
      expect(html).toContain('Sign out');
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    const page = await p.fetch(`/oauth/logout?post_logout_redirect_uri=${encodeURIComponent(SPA.postLogout)}&client_id=spa`);
    // The form posts here and is then redirected to the client: both are allowed form targets.
    expect(page.headers.get('content-security-policy')).toContain(`form-action 'self' ${new URL(SPA.postLogout).origin}`);
    expect(await sessionLives(account.token)).toBe(true);
    expect(await sessionLives(other.token)).toBe(true);
  });
});

describe('POST /oauth/logout', () => {
  const confirm = (cookie: string, origin: string, fields: Record<string, string>) =>
    postForm(p, '/oauth/logout', fields, { cookie, origin });

  it('signs the browser out when posted from this server’s page, then redirects to a registered URI', async () => {
    const account = await p.signIn();
    const { tokens } = await codeFlow(p, config, { cookie: account.cookie });
    const res = await confirm(account.cookie, p.issuer, { post_logout_redirect_uri: SPA.postLogout, state: 's1', client_id: SPA.id });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${SPA.postLogout}?state=s1`);
    expect(await sessionLives(account.token)).toBe(false);
    expect((await refresh(tokens.refresh_token!)).body.error).toBe('invalid_grant');

    const plain = await p.signIn();
    const signedOut = await confirm(plain.cookie, p.issuer, { post_logout_redirect_uri: 'https://evil.example/' });
    expect(signedOut.status).toBe(200);
    expect(signedOut.body).toMatch(/signed out/i);
    expect(await sessionLives(plain.token)).toBe(false);
  });

  it('refuses a post from another origin (CSRF) and keeps the session', async () => {
    const account = await p.signIn();
    const res = await confirm(account.cookie, 'https://evil.example', { client_id: SPA.id });
    expect(res.status).toBe(403);
    expect(await sessionLives(account.token)).toBe(true);
    const crossSite = await postForm(p, '/oauth/logout', {}, { cookie: account.cookie, 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(await sessionLives(account.token)).toBe(true);
  });
});
