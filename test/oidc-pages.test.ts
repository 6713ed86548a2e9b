import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageAssetsModulePath, renderPageAssetsModule } from '../scripts/build-demo';
import { parseConfig } from '../src/config';
import { renderLogoutConfirmPage, renderMessagePage, renderSignInPage, type SignInPage } from '../src/http/pages/oidc';
import { createTestContext, type TestContext } from './helpers/app';

const signIn = (overrides: Partial<SignInPage> = {}) =>
  renderSignInPage({ requestId: 'req-1', clientName: 'My app', loginHint: null, passkeys: true, productName: 'Auth', ...overrides });

/** The attributes of the element with this id, as written in the page. */
function element(page: string, id: string): string {
  const match = new RegExp(`<(input|button|form|main|p)\\b[^>]*\\bid="${id}"[^>]*>`).exec(page);
  if (!match) throw new Error(`no element #${id}`);
  return match[0];
}

/** A Content-Security-Policy header, parsed into its directives. */
function directives(header: string | null): Record<string, string> {
  return Object.fromEntries((header ?? '').split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(' ')]));
}

describe('the hosted sign-in page', () => {
  it('has the labelled controls of the contract', () => {
    const page = signIn();
    expect(page).toContain('<label for="email">Email</label>');
    expect(element(page, 'email')).toMatch(/type="email"/);
    expect(element(page, 'email')).toMatch(/autocomplete="username webauthn"/);
    expect(page).toContain('<label for="code">Code</label>');
    expect(element(page, 'code')).toMatch(/autocomplete="one-time-code"/);
    expect(element(page, 'code')).toMatch(/inputmode="numeric"/);
    expect(page).toMatch(/<button type="submit">Send code<\/button>/);
    expect(page).toMatch(/<button type="submit">Sign in<\/button>/);
    expect(page).toMatch(/<button id="passkey" type="button" class="secondary">Sign in with a passkey<\/button>/);
    // Errors and progress are announced to screen readers.
    expect(element(page, 'error')).toMatch(/role="alert"/);
    expect(element(page, 'status')).toMatch(/role="status"/);
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  });

  it('loads its script from this origin and has no inline script', () => {
    const page = signIn();
    expect(page).toContain('<script type="module" src="/oauth/assets/sign-in.js"></script>');
    expect(page.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/oauth/assets/sign-in.js">']);
    expect(page).not.toMatch(/\son[a-z]+=/i);
  });

  it('names the request, pre-fills login_hint and offers passkeys only when they can work', () => {
    const page = signIn({ loginHint: 'ada@example.com' });
    expect(element(page, 'sign-in')).toMatch(/data-request="req-1"/);
    expect(element(page, 'sign-in')).toMatch(/data-passkeys="on"/);
    expect(element(page, 'email')).toMatch(/value="ada@example.com"/);
    const withoutPasskeys = signIn({ passkeys: false });
    expect(withoutPasskeys).not.toContain('Sign in with a passkey');
    expect(element(withoutPasskeys, 'email')).toMatch(/autocomplete="username"/);
    expect(element(withoutPasskeys, 'sign-in')).toMatch(/data-passkeys="off"/);
  });

  it('escapes everything it is given', () => {
    const evil = '"><script>alert(1)</script><x a=\'';
    const page = signIn({ clientName: evil, loginHint: evil, productName: evil, requestId: evil });
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain(evil);
    expect(page).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.match(/<script\b/g)).toHaveLength(1);
  });

  it('keeps its styles intact (they are not escaped)', () => {
    expect(signIn()).toMatch(/font: 16px\/1\.5 system-ui, -apple-system, "Segoe UI"/);
  });
});

describe('the message and sign-out pages', () => {
  it('escapes the message page and marks its tone', () => {
    const page = renderMessagePage({ title: '<b>Nope</b>', message: 'a & "b" <i>' });
    expect(page).toContain('<title>&lt;b&gt;Nope&lt;/b&gt;</title>');
    expect(page).toContain('<h1>&lt;b&gt;Nope&lt;/b&gt;</h1>');
    expect(page).toContain('a &amp; &quot;b&quot; &lt;i&gt;');
    expect(page).toContain('data-tone="error"');
    expect(renderMessagePage({ title: 'Signed out', message: 'Bye.', tone: 'info' })).toContain('data-tone="info"');
    expect(page).not.toMatch(/<script\b/);
  });

  it('asks before signing out with a POST that carries the fields back, escaped', () => {
    const page = renderLogoutConfirmPage({ fields: { state: 'x"><script>', client_id: 'spa', post_logout_redirect_uri: 'https://app.example/?a=1&b=2' } });
    expect(page).toContain('<form method="post" action="/oauth/logout">');
    expect(page).toContain('<button type="submit">Sign out</button>');
    expect(page).toContain('<input type="hidden" name="state" value="x&quot;&gt;&lt;script&gt;">');
    expect(page).toContain('<input type="hidden" name="client_id" value="spa">');
    expect(page).toContain('value="https://app.example/?a=1&amp;b=2"');
    expect(page).not.toMatch(/<script\b/);
  });

  it('sends its real Origin with the POST, which the server refuses under no-referrer (Origin: null)', () => {
    expect(renderLogoutConfirmPage({ fields: {} })).toContain('<meta name="referrer" content="same-origin">');
    expect(signIn()).not.toContain('name="referrer"');
  });
});

describe('served pages and scripts', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(() => t.close());

  const DEMO_PAGE = 'http://localhost:3000/demo/oidc';
  const authorizeQuery = new URLSearchParams({
    response_type: 'code',
    client_id: 'demo',
    redirect_uri: DEMO_PAGE,
    scope: 'openid email',
    state: 'st',
    nonce: 'no',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });

  it('answers the hosted page with a strict policy: scripts, fetches and forms of this origin only, no framing', async () => {
    const res = await t.request('GET', `/oauth/authorize?${authorizeQuery}`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<label for="email">Email</label>');
    const policy = directives(res.headers.get('content-security-policy'));
    expect(policy).toMatchObject({
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'unsafe-inline'",
      'connect-src': "'self'",
      'form-action': "'self'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
    });
    expect(Object.values(policy).join(' ')).not.toMatch(/unsafe-eval|https?:/);
  });

  it('keeps the styles of the message and sign-out pages, and lets the sign-out form redirect to the client only', async () => {
    const refused = await t.request('GET', '/oauth/authorize/continue?request=nope');
    expect(refused.status).toBe(400);
    expect(directives(refused.headers.get('content-security-policy'))).toMatchObject({ 'style-src': "'unsafe-inline'", 'frame-ancestors': "'none'" });
    expect(refused.headers.get('content-security-policy')).not.toContain('script-src');
    const confirm = await t.request('GET', `/oauth/logout?client_id=demo&post_logout_redirect_uri=${encodeURIComponent(DEMO_PAGE)}&state=s`);
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('<button type="submit">Sign out</button>');
    expect(directives(confirm.headers.get('content-security-policy'))).toMatchObject({
      'form-action': "'self' http://localhost:3000",
      'style-src': "'unsafe-inline'",
      'frame-ancestors': "'none'",
    });
  });

  it('serves the sign-in script from /oauth/assets', async () => {
    const res = await t.request('GET', '/oauth/assets/sign-in.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.body).toContain('/oauth/authorize/continue?request=');
    expect(res.body).toContain('/auth/passkeys/authenticate/options');
    expect(res.body).toContain('The passkey prompt was closed.');
    expect(res.body).toContain('That code is wrong or has expired.');
    expect((await t.request('GET', '/oauth/assets/nothing.js')).status).toBe(404);
  });

  it('serves the OpenID Connect example page with the built-in demo client on a development start', async () => {
    const res = await t.request('GET', '/demo/oidc');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.body).toContain('<html lang="en" data-issuer="http://localhost:3000" data-client-id="demo">');
    expect(res.body).toContain('<script type="module" src="/demo/oidc.js"></script>');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    // The callback is the same page, with the authorization response in its query.
    expect((await t.request('GET', '/demo/oidc?code=abc&state=xyz&iss=http%3A%2F%2Flocalhost%3A3000')).status).toBe(200);
    const script = await t.request('GET', '/demo/oidc.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.body).toContain('signinRedirect');
  });

  it('links the example page from the demo page', async () => {
    expect((await t.request('GET', '/')).body).toContain('<a href="/demo/oidc">Sign in with OpenID Connect</a>');
  });

  /** The example page of a server configured with `issuer` and no built-in client. */
  async function examplePageUnder(issuer: string): Promise<string> {
    const other = await createTestContext({ ISSUER: issuer, ORIGIN: 'https://auth.example.com' });
    try {
      const res = await other.request('GET', '/demo/oidc');
      expect(res.status).toBe(200);
      return res.body as string;
    } finally {
      await other.close();
    }
  }

  it('says how to register a client where there is no built-in one', async () => {
    expect(await examplePageUnder('https://auth.example.com')).toContain('<html lang="en" data-issuer="https://auth.example.com" data-client-id="">');
  });

  it('writes the issuer as configured, a `$&` in its path included', async () => {
    // HTML-escaped, and not read as a replacement pattern (`$&` would repeat the matched tag).
    expect(await examplePageUnder('https://auth.example.com/tenant/$&')).toContain(
      '<html lang="en" data-issuer="https://auth.example.com/tenant/$&amp;" data-client-id="">',
    );
  });

  it('is built from the current sources (run `npm run build:demo` after editing them)', () => {
    expect(readFileSync(pageAssetsModulePath, 'utf8')).toBe(renderPageAssetsModule());
  });
});

describe('the built-in demo client', () => {
  const base = { AUTH_SECRET: 'a'.repeat(64) };

  it('exists on a loopback http ISSUER, for the example page', () => {
    const config = parseConfig({ ...base, PORT: '3100' });
    expect(config.oidcClients).toEqual([
      {
        id: 'demo',
        name: 'OpenID Connect example',
        redirectUris: ['http://localhost:3100/demo/oidc'],
        postLogoutRedirectUris: ['http://localhost:3100/demo/oidc'],
        type: 'public',
        secret: undefined,
      },
    ]);
    expect(parseConfig({ ...base, ISSUER: 'http://127.0.0.1:4000', ORIGIN: 'http://127.0.0.1:4000' }).oidcClients[0]!.redirectUris).toEqual([
      'http://127.0.0.1:4000/demo/oidc',
    ]);
  });

  it('does not exist on an https ISSUER, nor where RP_ID cannot serve the hosted page', () => {
    expect(parseConfig({ ...base, MAIL: 'log', ISSUER: 'https://auth.example.com', ORIGIN: 'https://auth.example.com' }).oidcClients).toEqual([]);
    expect(parseConfig({ ...base, ISSUER: 'http://localhost:3000', ORIGIN: 'http://127.0.0.1:5173' }).oidcClients).toEqual([]);
  });

  it('gives way to a client named demo in OIDC_CLIENTS, and sits beside the others', () => {
    const own = [{ id: 'demo', redirectUris: ['https://auth.example.com/demo/oidc'] }];
    expect(parseConfig({ ...base, OIDC_CLIENTS: JSON.stringify(own) }).oidcClients.map((c) => c.redirectUris)).toEqual([['https://auth.example.com/demo/oidc']]);
    const other = [{ id: 'spa', redirectUris: ['http://127.0.0.1:5173/callback'] }];
    expect(parseConfig({ ...base, OIDC_CLIENTS: JSON.stringify(other) }).oidcClients.map((c) => c.id)).toEqual(['spa', 'demo']);
  });
});
