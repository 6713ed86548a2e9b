import { Hono, type Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { describeRoute } from 'hono-openapi';
import type { Deps } from '../../deps';
import { authorize, continueAuthorization, type AuthorizationOutcome } from '../../domain/oidc/authorize';
import { authenticateClient, type ClientCredentials } from '../../domain/oidc/clients';
import { oauthFail, type OAuthFailure } from '../../domain/oidc/errors';
import { confirmLogout, requestLogout } from '../../domain/oidc/logout';
import { requestTokens, revokeToken, userinfo } from '../../domain/oidc/tokens';
import { validateSessionToken, type ValidatedSession } from '../../domain/sessions/sessions';
import { isAllowedCookieRequest } from '../auth';
import { clearSessionCookie, SESSION_COOKIE, setSessionCookie } from '../cookies';
import type { AppEnv } from '../env';
import { error, htmlPage, json, oauthError, PUBLIC, redirect } from '../openapi-docs';
import { TokenResponse, UserinfoBody } from '../openapi-schemas';
import { renderLogoutConfirmPage, renderMessagePage, renderSignInPage } from '../pages/oidc';
import { pagePolicy } from '../security-headers';

const BEARER = [{ bearer: [] }];

const text = (description: string) => ({ type: 'string' as const, description });
/** A form body (`application/x-www-form-urlencoded`) of these fields, as the OpenAPI document shows it. */
const formBody = (properties: Record<string, { type: 'string'; description: string }>, required: string[]) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' as const, properties, required } } },
});
const query = (name: string, description: string, required = false) => ({ name, in: 'query' as const, required, schema: { type: 'string' as const }, description });

const docs = {
  authorize: describeRoute({
    operationId: 'authorize',
    summary: 'Start an authorization (code flow with PKCE S256): the code at once with a live session, else the hosted sign-in page',
    tags: ['oauth'],
    security: PUBLIC,
    parameters: [
      query('response_type', '`code`.', true),
      query('client_id', 'A registered client.', true),
      query('redirect_uri', 'One of the client’s redirect URIs, exactly (a loopback IP one on any port).', true),
      query('scope', 'Space-separated; must contain `openid`. Also `profile`, `email`, `offline_access` (a refresh token).', true),
      query('state', 'Echoed in the redirect.'),
      query('nonce', 'Copied into the id_token.'),
      query('code_challenge', 'The base64url SHA-256 of the code_verifier.', true),
      query('code_challenge_method', '`S256`.', true),
      query('prompt', '`none` (never show the page: `login_required`) or `login` (sign in again).'),
      query('max_age', 'Seconds since the sign-in; `0` is `prompt=login`.'),
      query('login_hint', 'Pre-fills the Email field of the hosted page.'),
    ],
    responses: {
      200: htmlPage('The hosted sign-in page for this request.'),
      302: redirect('To redirect_uri with code, state and iss, or with error, error_description, state and iss.'),
      400: htmlPage('An error page: unknown client_id, or a redirect_uri not registered for it. Never a redirect.'),
      429: {
        ...htmlPage('Too many pending sign-ins from this client address (60 a minute); retry after `Retry-After` seconds.'),
        headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } } },
      },
    },
  }),
  authorizeByPost: describeRoute({
    operationId: 'authorizeByPost',
    summary: 'The same authorization request, its parameters form-encoded in the body (OIDC Core §3.1.2.1)',
    tags: ['oauth'],
    security: PUBLIC,
    requestBody: formBody(
      {
        response_type: text('`code`.'),
        client_id: text('A registered client.'),
        redirect_uri: text('One of the client’s redirect URIs.'),
        scope: text('Must contain `openid`.'),
        code_challenge: text('The base64url SHA-256 of the code_verifier.'),
        code_challenge_method: text('`S256`.'),
        state: text('Echoed in the redirect.'),
        nonce: text('Copied into the id_token.'),
      },
      ['response_type', 'client_id', 'redirect_uri', 'scope', 'code_challenge', 'code_challenge_method'],
    ),
    responses: {
      200: htmlPage('The hosted sign-in page for this request.'),
      302: redirect('As GET /oauth/authorize.'),
      400: htmlPage('An error page: unknown client_id, or a redirect_uri not registered for it (or a body that is not form-encoded). Never a redirect.'),
      413: error(413),
      429: {
        ...htmlPage('Too many pending sign-ins from this client address (60 a minute); retry after `Retry-After` seconds.'),
        headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } } },
      },
    },
  }),
  continue: describeRoute({
    operationId: 'continueAuthorization',
    summary: 'Finish a pending authorization once the hosted page has signed the browser in',
    tags: ['oauth'],
    security: PUBLIC,
    parameters: [query('request', 'The pending request’s id, from the hosted page.', true)],
    responses: {
      302: redirect('To redirect_uri with code, state and iss (or login_required when the request asked for a newer sign-in).'),
      400: htmlPage('An error page: the request is unknown or expired, or the browser is not signed in.'),
    },
  }),
  token: describeRoute({
    operationId: 'token',
    summary: 'Redeem an authorization code or rotate a refresh token (application/x-www-form-urlencoded)',
    description:
      'Client authentication: `client_id` in the body (public clients), plus the secret by `client_secret_basic` or `client_secret_post` (confidential clients). Answers carry `Cache-Control: no-store` and `Pragma: no-cache`.',
    tags: ['oauth'],
    security: PUBLIC,
    requestBody: formBody(
      {
        grant_type: text('`authorization_code` or `refresh_token`.'),
        code: text('authorization_code: the code from the redirect.'),
        redirect_uri: text('authorization_code: the redirect_uri of the authorization request.'),
        code_verifier: text('authorization_code: the PKCE verifier.'),
        refresh_token: text('refresh_token: the current refresh token.'),
        client_id: text('The client (or in the Basic credentials).'),
        client_secret: text('client_secret_post: a confidential client’s secret.'),
      },
      ['grant_type'],
    ),
    responses: {
      200: json('The tokens.', TokenResponse),
      400: oauthError('invalid_request, invalid_grant or unsupported_grant_type.'),
      401: oauthError('invalid_client: unknown or deleted client, or a wrong or missing secret.'),
      413: error(413),
    },
  }),
  userinfo: (method: 'get' | 'post') =>
    describeRoute({
      operationId: method === 'get' ? 'getUserinfo' : 'postUserinfo',
      summary: 'The claims of the account behind an access token, per its scopes',
      tags: ['oauth'],
      security: BEARER,
      responses: {
        200: json('The claims.', UserinfoBody),
        401: oauthError('invalid_token (WWW-Authenticate: Bearer error="invalid_token"): a bad, expired or revoked token; a plain `Bearer` challenge when none was sent.'),
      },
    }),
  revoke: describeRoute({
    operationId: 'revokeToken',
    summary: 'Revoke a refresh token (and its family) or an access token’s grant (RFC 7009)',
    tags: ['oauth'],
    security: PUBLIC,
    requestBody: formBody(
      {
        token: text('A refresh token or an access token.'),
        token_type_hint: text('Ignored: both kinds are recognised.'),
        client_id: text('The client (or in the Basic credentials).'),
        client_secret: text('client_secret_post: a confidential client’s secret.'),
      },
      ['token'],
    ),
    responses: {
      200: { description: 'Revoked, or there was nothing to revoke.' },
      400: oauthError('invalid_request: no token, or a body that is not form-encoded.'),
      401: oauthError('invalid_client: unknown client, or a confidential client without its secret.'),
      413: error(413),
    },
  }),
  logout: describeRoute({
    operationId: 'logout',
    summary: 'RP-initiated sign-out: with a valid id_token_hint for the browser’s session, end it; else ask to confirm',
    tags: ['oauth'],
    security: PUBLIC,
    parameters: [
      query('id_token_hint', 'An id token this server issued for the browser’s session (it may have expired).'),
      query('post_logout_redirect_uri', 'Where to go afterwards, when registered for the client exactly.'),
      query('state', 'Echoed to post_logout_redirect_uri.'),
      query('client_id', 'The client; must be the id token’s audience.'),
    ],
    responses: {
      200: htmlPage('The signed-out page, or the page asking to confirm the sign-out.'),
      302: redirect('Signed out: to the registered post_logout_redirect_uri, with state.'),
    },
  }),
  confirmLogout: describeRoute({
    operationId: 'confirmLogout',
    summary: 'The sign-out confirmed from the page of GET /oauth/logout',
    tags: ['oauth'],
    security: PUBLIC,
    responses: {
      200: htmlPage('Signed out.'),
      303: redirect('Signed out: to the registered post_logout_redirect_uri, with state.'),
      403: htmlPage('The form was not posted from this server’s own page (CSRF check).'),
      413: error(413),
    },
  }),
};

/** The hosted sign-in page's policy: as the demo page's (scripts of this origin only), and forms post back here. */
const signInPagePolicy = pagePolicy({
  scriptSrc: ["'self'"],
  styleSrc: ["'unsafe-inline'"],
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
});

/** A page that only says something: its styles, nothing else. */
const messagePagePolicy = pagePolicy({ styleSrc: ["'unsafe-inline'"], imgSrc: ["'self'", 'data:'] });

/**
 * The logout confirmation posts here, and its answer redirects to the client's
 * post-logout page: form-action also applies to that redirect, so its origin is allowed too.
 */
const logoutPagePolicy = pagePolicy({
  styleSrc: ["'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  formAction: ["'self'", (c) => originOf(c.req.query('post_logout_redirect_uri')) ?? "'self'"],
});

function originOf(uri: string | undefined): string | null {
  if (!uri) return null;
  try {
    const url = new URL(uri);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** The OpenID Connect provider's endpoints (OIDC.md), mounted at `/oauth`. */
export function oauthRoutes(deps: Deps) {
  const passkeys = coversIssuer(deps.config.rpId, deps.config.issuer);

  /** The browser's live session from the `session` cookie; re-sends the cookie when the check slid it. */
  async function browserSession(c: Context): Promise<ValidatedSession | null> {
    const token = getCookie(c, SESSION_COOKIE);
    if (!token) return null;
    const session = await validateSessionToken(deps, token);
    if (session?.slid) setSessionCookie(c, deps.config, token, session.session.expiresAt);
    return session;
  }

  function answer(c: Context, outcome: AuthorizationOutcome): Response {
    c.header('Cache-Control', 'no-store');
    switch (outcome.kind) {
      case 'redirect':
        return c.redirect(outcome.location, 302);
      case 'refused':
        return c.html(renderMessagePage({ title: 'This sign-in cannot continue', message: outcome.message }), 400);
      case 'rate_limited':
        c.header('Retry-After', String(outcome.retryAfter));
        return c.html(
          renderMessagePage({ title: 'Too many sign-in attempts', message: `Try again in ${Math.ceil(outcome.retryAfter / 60)} minute(s).` }),
          429,
        );
      case 'sign_in':
        return c.html(
          renderSignInPage({
            requestId: outcome.requestId,
            clientName: outcome.client.name,
            loginHint: outcome.loginHint,
            passkeys,
            productName: deps.config.rpName,
          }),
          200,
        );
    }
  }

  /** The authenticated client of a token or revocation request, or the failure to answer. */
  async function client(c: Context, form: Map<string, string>) {
    const credentials = clientCredentials(c, form);
    if ('ok' in credentials) return credentials;
    const found = await authenticateClient(deps, credentials);
    return found ?? oauthFail('invalid_client', 'Client authentication failed: unknown client, or a missing or wrong secret.');
  }

  return new Hono<AppEnv>()
    .get('/authorize', docs.authorize, signInPagePolicy, async (c) => {
      return answer(c, await authorize(deps, c.req.queries(), await browserSession(c), c.var.meta));
    })
    .post('/authorize', docs.authorizeByPost, signInPagePolicy, async (c) => {
      const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (mediaType !== 'application/x-www-form-urlencoded') {
        return answer(c, { kind: 'refused', message: 'The authorization request must be form-encoded.' });
      }
      const params: Record<string, string[]> = {};
      for (const [name, value] of new URLSearchParams(await c.req.text())) (params[name] ??= []).push(value);
      return answer(c, await authorize(deps, params, await browserSession(c), c.var.meta));
    })
    .get('/authorize/continue', docs.continue, messagePagePolicy, async (c) => {
      const requests = c.req.queries('request') ?? [];
      const requestId = requests.length === 1 ? requests[0]! : '';
      return answer(c, await continueAuthorization(deps, requestId, await browserSession(c)));
    })
    .post('/token', docs.token, async (c) => {
      const form = await readForm(c);
      if ('ok' in form) return oauthErrorResponse(c, form);
      const authenticated = await client(c, form);
      if ('ok' in authenticated) return oauthErrorResponse(c, authenticated);
      const result = await requestTokens(deps, authenticated, form);
      if (!result.ok) return oauthErrorResponse(c, result);
      return c.json(result.tokens, 200, NO_STORE);
    })
    .get('/userinfo', docs.userinfo('get'), (c) => userinfoAnswer(deps, c))
    .post('/userinfo', docs.userinfo('post'), (c) => userinfoAnswer(deps, c))
    .post('/revoke', docs.revoke, async (c) => {
      const form = await readForm(c);
      if ('ok' in form) return oauthErrorResponse(c, form);
      const authenticated = await client(c, form);
      if ('ok' in authenticated) return oauthErrorResponse(c, authenticated);
      const token = form.get('token');
      if (!token) return oauthErrorResponse(c, oauthFail('invalid_request', 'token is required.'));
      await revokeToken(deps, authenticated, token);
      return c.body(null, 200, NO_STORE);
    })
    .get('/logout', docs.logout, logoutPagePolicy, async (c) => {
      c.header('Cache-Control', 'no-store');
      const outcome = await requestLogout(deps, singleValues(c.req.queries()), await browserSession(c), c.var.meta);
      if (outcome.kind === 'confirm') return c.html(renderLogoutConfirmPage({ fields: outcome.fields }), 200);
      if (outcome.endedSession) clearSessionCookie(c, deps.config);
      return outcome.redirect ? c.redirect(outcome.redirect, 302) : signedOut(c);
    })
    .post('/logout', docs.confirmLogout, messagePagePolicy, async (c) => {
      c.header('Cache-Control', 'no-store');
      if (!isAllowedCookieRequest(c, deps.config)) {
        return c.html(renderMessagePage({ title: 'Not signed out', message: 'This sign-out did not come from this server’s own page.' }), 403);
      }
      const form = await readForm(c);
      const fields = 'ok' in form ? {} : Object.fromEntries(form);
      const outcome = await confirmLogout(deps, fields, await browserSession(c), c.var.meta);
      clearSessionCookie(c, deps.config);
      return outcome.redirect ? c.redirect(outcome.redirect, 303) : signedOut(c);
    });
}

function signedOut(c: Context): Response {
  return c.html(renderMessagePage({ title: 'Signed out', message: 'You are signed out.', tone: 'info' }), 200);
}

/** Each parameter's value when it appears once; repeated parameters are dropped. */
function singleValues(queries: Record<string, string[]>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(queries).flatMap(([name, values]) => (values.length === 1 ? [[name, values[0]]] : [])));
}

/** Whether WebAuthn ceremonies can run on ISSUER's origin: RP_ID is its host or a parent domain of it. */
function coversIssuer(rpId: string, issuer: string): boolean {
  const host = new URL(issuer).hostname;
  return host === rpId || host.endsWith(`.${rpId}`);
}

async function userinfoAnswer(deps: Deps, c: Context): Promise<Response> {
  c.header('Cache-Control', 'no-store');
  c.header('Pragma', 'no-cache');
  const header = c.req.header('authorization');
  if (header === undefined) {
    c.header('WWW-Authenticate', 'Bearer');
    return c.json({ error: 'invalid_token', error_description: 'An access token is required (Authorization: Bearer).' }, 401);
  }
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  const claims = match ? await userinfo(deps, match[1]!) : null;
  if (!claims) {
    c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
    return c.json({ error: 'invalid_token', error_description: 'The access token is invalid, expired or revoked.' }, 401);
  }
  return c.json(claims, 200);
}

/** The body of a token or revocation request; repeated parameters are `invalid_request` (RFC 6749 §3.2). */
async function readForm(c: Context): Promise<Map<string, string> | OAuthFailure> {
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    return oauthFail('invalid_request', 'The body must be sent as application/x-www-form-urlencoded.');
  }
  const form = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(await c.req.text())) {
    if (form.has(name)) return oauthFail('invalid_request', `The parameter ${name} appears more than once.`);
    if (value.includes('\0')) return oauthFail('invalid_request', `The parameter ${name} holds a NUL character.`);
    form.set(name, value);
  }
  return form;
}

/**
 * The client's credentials: `Authorization: Basic` (client_secret_basic, RFC 6749 §2.3.1: both
 * parts form-encoded) or `client_id` and `client_secret` in the body. Both at once, or a body
 * `client_id` naming another client, is `invalid_request`.
 */
function clientCredentials(c: Context, form: Map<string, string>): ClientCredentials | OAuthFailure {
  const header = c.req.header('authorization');
  if (header !== undefined && /^Basic(\s|$)/i.test(header)) {
    const basic = /^Basic +([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
    if (!basic) return oauthFail('invalid_client', 'The Basic credentials are malformed.');
    let decoded: string;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(basic[1]!), (ch) => ch.charCodeAt(0)));
    } catch {
      return oauthFail('invalid_client', 'The Basic credentials are malformed.');
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return oauthFail('invalid_client', 'The Basic credentials are malformed.');
    let clientId: string;
    let secret: string;
    try {
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      return oauthFail('invalid_client', 'The Basic credentials are malformed.');
    }
    if (form.has('client_secret')) return oauthFail('invalid_request', 'Use one client authentication method, not two.');
    const bodyId = form.get('client_id');
    if (bodyId !== undefined && bodyId !== clientId) return oauthFail('invalid_request', 'client_id differs from the Basic credentials.');
    return { clientId, secret };
  }
  const clientId = form.get('client_id');
  if (!clientId) return oauthFail('invalid_client', 'client_id is required.');
  return { clientId, secret: form.get('client_secret') ?? null };
}

const formDecode = (value: string): string => decodeURIComponent(value.replace(/\+/g, ' '));

/** The OAuth error answer (RFC 6749 §5.2); `invalid_client` after Basic credentials challenges for them again. */
function oauthErrorResponse(c: Context, failure: OAuthFailure): Response {
  const status = failure.error === 'invalid_client' ? 401 : 400;
  if (status === 401 && /^Basic(\s|$)/i.test(c.req.header('authorization') ?? '')) {
    const realm = (c.get('challenges') as readonly string[] | undefined)?.[0]?.match(/realm="(.*)"$/)?.[1] ?? 'oauth';
    c.header('WWW-Authenticate', `Basic realm="${realm}"`);
  }
  return c.json({ error: failure.error, error_description: failure.description }, status, NO_STORE);
}
