import { serve, type ServerType } from '@hono/node-server';
import * as oidc from 'openid-client';
import { createTestContext, uniqueEmail, type TestContext } from '../helpers/app';
import { freePort } from '../helpers/free-port';
import { readAnswer } from '../helpers/http';

/** The public client of these tests: a SPA on another origin, and a native app on a loopback IP. */
export const SPA = { id: 'spa', redirectUri: 'https://app.example.test/callback', postLogout: 'https://app.example.test/signed-out' };
export const LOOPBACK_REDIRECT = 'http://127.0.0.1/native/callback';
/** A confidential client (a server-side web app). */
export const WEB = { id: 'web', secret: 'web-secret-0123456789abcdef', redirectUri: 'https://web.example.test/cb' };

export interface Provider {
  t: TestContext;
  /** ISSUER: the listener's URL. */
  issuer: string;
  /** An account in ADMIN_EMAILS: `users:write`, for /admin/clients. */
  adminEmail: string;
  /** Sends a request over the real HTTP listener; redirects are not followed. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Signs a new account in with an emailed code; its `session` cookie header value. */
  signIn(email?: string): Promise<{ cookie: string; token: string; email: string; user: { id: string; identity: string }; session: { id: string; createdAt: string } }>;
  /** openid-client's configuration of a client, from discovery over HTTP. */
  client(id?: string, auth?: oidc.ClientAuth, secret?: string): Promise<oidc.Configuration>;
  close(): Promise<void>;
}

/**
 * The app over a real HTTP listener on 127.0.0.1 with `ISSUER` set to it, the clients above in
 * `OIDC_CLIENTS`, and an admin account (`admin`) for `/admin/clients`.
 */
export async function startProvider(env: Record<string, string> = {}): Promise<Provider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const adminEmail = uniqueEmail('admin');
  const t = await createTestContext({
    ISSUER: issuer,
    ORIGIN: issuer,
    ADMIN_EMAILS: adminEmail,
    OIDC_CLIENTS: JSON.stringify([
      { id: SPA.id, name: 'The SPA', redirectUris: [SPA.redirectUri, LOOPBACK_REDIRECT], postLogoutRedirectUris: [SPA.postLogout] },
      { id: WEB.id, name: 'The web app', redirectUris: [WEB.redirectUri], secret: WEB.secret },
    ]),
    ...env,
  });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: t.app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
  });

  const fetchHttp = (path: string, init: RequestInit = {}) => fetch(new URL(path, issuer), { redirect: 'manual', ...init });

  return {
    t,
    issuer,
    adminEmail,
    fetch: fetchHttp,
    async signIn(email = uniqueEmail()) {
      const signedIn = await t.signIn(email);
      return { cookie: `session=${signedIn.token}`, token: signedIn.token, email, user: signedIn.user, session: signedIn.session };
    },
    client(id = SPA.id, auth = oidc.None(), secret?: string) {
      return oidc.discovery(new URL(issuer), id, secret, auth, { execute: [oidc.allowInsecureRequests] });
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    },
  };
}

/** The parameters of one authorization request, with the PKCE verifier, state and nonce kept. */
export async function authorizationRequest(config: oidc.Configuration, options: { redirectUri?: string; scope?: string; extra?: Record<string, string> } = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri ?? SPA.redirectUri,
    scope: options.scope ?? 'openid email profile offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...options.extra,
  });
  return { url, verifier, state, nonce, redirectUri: options.redirectUri ?? SPA.redirectUri };
}

/** Follows `GET /oauth/authorize` with the browser's cookie; the Location it redirects to. */
export async function authorizeWith(provider: Provider, url: URL, cookie: string | null): Promise<{ status: number; location: URL | null; body: string; headers: Headers }> {
  const res = await provider.fetch(url.pathname + url.search, { headers: cookie ? { cookie } : {} });
  const location = res.headers.get('location');
  return { status: res.status, location: location ? new URL(location) : null, body: await res.text(), headers: res.headers };
}

/** Signs in, authorizes and redeems the code with openid-client: the whole code flow. */
export async function codeFlow(provider: Provider, config: oidc.Configuration, options: { cookie?: string; scope?: string; redirectUri?: string } = {}) {
  const cookie = options.cookie ?? (await provider.signIn()).cookie;
  const request = await authorizationRequest(config, options);
  const authorized = await authorizeWith(provider, request.url, cookie);
  if (authorized.status !== 302 || !authorized.location) throw new Error(`authorize answered ${authorized.status}: ${authorized.body}`);
  const tokens = await oidc.authorizationCodeGrant(config, authorized.location, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
  });
  return { cookie, request, tokens, location: authorized.location };
}

/** POSTs a form to the token endpoint (or another), as a client would without a library. */
export async function postForm(provider: Provider, path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await provider.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return readAnswer(res);
}
