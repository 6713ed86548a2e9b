import { eq } from 'drizzle-orm';
import { oauthAuthorizationRequests, oauthCodes, type SessionRow } from '../../db/schema';
import type { Deps } from '../../deps';
import { randomToken, sha256Hex } from '../crypto';
import { findClient, isRegisteredRedirectUri, type Client } from './clients';
import type { OAuthErrorCode } from './errors';

/** How long the hosted sign-in page may take before its authorization request is gone. */
export const AUTHORIZATION_REQUEST_TTL_MS = 30 * 60 * 1000;
/** How long an authorization code can be redeemed. */
export const CODE_TTL_MS = 60 * 1000;

export const SUPPORTED_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/** RFC 7636 §4.2: a code challenge (and a code verifier) is 43-128 unreserved characters. */
export const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;
const MAX_STATE_LENGTH = 1024;
const MAX_NONCE_LENGTH = 512;
const MAX_LOGIN_HINT_LENGTH = 254;
const MAX_AGE_LIMIT = 10 * 365 * 24 * 60 * 60;

/** The validated parameters of an authorization request. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  /** The granted scopes, space-separated: the requested ones this provider knows. */
  scope: string;
  state: string | null;
  nonce: string | null;
  codeChallenge: string;
  /** `login` for `prompt=login` or `max_age=0`; `none` for `prompt=none`. */
  prompt: 'none' | 'login' | null;
  maxAge: number | null;
  loginHint: string | null;
}

/** A live session as `validateSessionToken` returns it. */
export interface SignedInSession {
  session: SessionRow;
}

export type AuthorizationOutcome =
  /** `400` and an error page, never a redirect: the client or its redirect URI cannot be trusted. */
  | { kind: 'refused'; message: string }
  /** `302` to this URL: the code, or an error, for the client. */
  | { kind: 'redirect'; location: string }
  /** `200` and the hosted sign-in page for this pending request. */
  | { kind: 'sign_in'; requestId: string; client: Client; loginHint: string | null };

/** The query of `GET /oauth/authorize`, every value of every parameter. */
export type AuthorizationQuery = Record<string, string[]>;

/**
 * Answers `GET /oauth/authorize`. An unknown client or unregistered `redirect_uri` is refused
 * without a redirect; other errors go back to the client. With a live session that satisfies
 * `prompt` and `max_age`, the code is issued at once; otherwise the request is kept 30 minutes
 * for the hosted sign-in page (`prompt=none` answers `login_required` instead).
 */
export async function authorize(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'random' | 'hasher'>,
  query: AuthorizationQuery,
  signedIn: SignedInSession | null,
): Promise<AuthorizationOutcome> {
  const checked = await checkAuthorizationRequest(deps, query);
  if (checked.kind !== 'valid') return checked;
  const { request, client } = checked;
  const now = deps.clock.now();

  if (signedIn && satisfies(request, signedIn.session, now, null)) {
    return { kind: 'redirect', location: await issueCode(deps, request, signedIn.session) };
  }
  if (request.prompt === 'none') {
    return errorRedirect(deps, request.redirectUri, request.state, 'login_required', 'The user is not signed in, and prompt=none forbids asking.');
  }
  const id = randomToken(deps.random, 32);
  await deps.db.insert(oauthAuthorizationRequests).values({
    id,
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    scope: request.scope,
    state: request.state,
    nonce: request.nonce,
    codeChallenge: request.codeChallenge,
    prompt: request.prompt,
    maxAge: request.maxAge,
    loginHint: request.loginHint,
    createdAt: now,
    expiresAt: new Date(now.getTime() + AUTHORIZATION_REQUEST_TTL_MS),
  });
  return { kind: 'sign_in', requestId: id, client, loginHint: request.loginHint };
}

/**
 * Answers `GET /oauth/authorize/continue`: after the hosted page signed the browser in, the
 * pending request is consumed (one `DELETE … RETURNING`) and its code issued. Without a live
 * session the request is left alone (the page may sign in and come back); a missing or expired
 * request is refused. A request that asked for a fresh sign-in (`prompt=login`, `max_age`) needs
 * a session opened after it (or, for `max_age`, recently enough).
 */
export async function continueAuthorization(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'random' | 'hasher'>,
  requestId: string,
  signedIn: SignedInSession | null,
): Promise<AuthorizationOutcome> {
  if (requestId.length === 0 || requestId.length > 128) return { kind: 'refused', message: 'This sign-in request is unknown or has expired. Go back to the app and start again.' };
  if (!signedIn) return { kind: 'refused', message: 'You are not signed in. Go back and sign in to continue.' };
  const [row] = await deps.db.delete(oauthAuthorizationRequests).where(eq(oauthAuthorizationRequests.id, requestId)).returning();
  const now = deps.clock.now();
  if (!row || row.expiresAt <= now) return { kind: 'refused', message: 'This sign-in request is unknown or has expired. Go back to the app and start again.' };
  const request: AuthorizationRequest = {
    clientId: row.clientId,
    redirectUri: row.redirectUri,
    scope: row.scope,
    state: row.state,
    nonce: row.nonce,
    codeChallenge: row.codeChallenge,
    prompt: row.prompt === 'login' || row.prompt === 'none' ? row.prompt : null,
    maxAge: row.maxAge,
    loginHint: row.loginHint,
  };
  // The client may have been deleted while the page was open.
  const client = await findClient(deps, request.clientId);
  if (!client || !isRegisteredRedirectUri(client.redirectUris, request.redirectUri)) {
    return { kind: 'refused', message: 'The app that sent you here is no longer registered.' };
  }
  if (!satisfies(request, signedIn.session, now, row.createdAt)) {
    return errorRedirect(deps, request.redirectUri, request.state, 'login_required', 'The app asked for a new sign-in, and this session is older than its request.');
  }
  return { kind: 'redirect', location: await issueCode(deps, request, signedIn.session) };
}

/**
 * Whether the session may answer the request without a new sign-in: not under `prompt=login`
 * (unless it was opened after the request was made), and within `max_age`.
 */
function satisfies(request: AuthorizationRequest, session: SessionRow, now: Date, requestedAt: Date | null): boolean {
  const openedSince = requestedAt !== null && session.createdAt.getTime() > requestedAt.getTime();
  // max_age=0 is prompt=login (OIDC Core §3.1.2.1), also alongside prompt=none, which then cannot be satisfied.
  if ((request.prompt === 'login' || request.maxAge === 0) && !openedSince) return false;
  if (request.maxAge !== null && !openedSince && now.getTime() - session.createdAt.getTime() > request.maxAge * 1000) return false;
  return true;
}

/** Stores a code for the session (its SHA-256; 60 s) and returns the redirect that carries it. */
async function issueCode(deps: Pick<Deps, 'config' | 'db' | 'clock' | 'random' | 'hasher'>, request: AuthorizationRequest, session: SessionRow): Promise<string> {
  const code = randomToken(deps.random, 32);
  const now = deps.clock.now();
  await deps.db.insert(oauthCodes).values({
    codeHash: await sha256Hex(deps, code),
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    scope: request.scope,
    nonce: request.nonce,
    codeChallenge: request.codeChallenge,
    userId: session.userId,
    sessionId: session.id,
    createdAt: now,
    expiresAt: new Date(now.getTime() + CODE_TTL_MS),
  });
  return redirectTo(request.redirectUri, { code, state: request.state, iss: deps.config.issuer });
}

type Checked =
  | { kind: 'valid'; request: AuthorizationRequest; client: Client }
  | Extract<AuthorizationOutcome, { kind: 'refused' | 'redirect' }>;

/** The checks of OIDC.md, in its order: client, redirect URI, then errors the client hears about. */
async function checkAuthorizationRequest(deps: Pick<Deps, 'config' | 'db'>, query: AuthorizationQuery): Promise<Checked> {
  const single = (name: string): string | null | 'repeated' => {
    const values = query[name];
    if (!values || values.length === 0) return null;
    return values.length > 1 ? 'repeated' : (values[0] ?? null);
  };
  const clientId = single('client_id');
  if (clientId === null || clientId === 'repeated') return { kind: 'refused', message: 'The request does not name one client (client_id).' };
  const client = await findClient(deps, clientId);
  if (!client) return { kind: 'refused', message: 'The app that sent you here is not registered with this server.' };
  const redirectUri = single('redirect_uri');
  if (redirectUri === null || redirectUri === 'repeated' || !isRegisteredRedirectUri(client.redirectUris, redirectUri)) {
    return { kind: 'refused', message: 'The address the app asked to return to is not registered for it.' };
  }

  const rawState = single('state');
  // A repeated state is an error, and which value to echo is unknowable: echo none.
  const state = rawState === 'repeated' || (rawState !== null && rawState.length > MAX_STATE_LENGTH) ? null : rawState;
  const refuse = (error: OAuthErrorCode, description: string): Checked => errorRedirect(deps, redirectUri, state, error, description);

  for (const [name, values] of Object.entries(query)) {
    if (values.length > 1) return refuse('invalid_request', `The parameter ${name} appears more than once.`);
  }
  if (rawState !== null && rawState.length > MAX_STATE_LENGTH) return refuse('invalid_request', `state is longer than ${MAX_STATE_LENGTH} characters.`);

  const responseType = single('response_type');
  if (responseType === null) return refuse('invalid_request', 'response_type is missing.');
  if (responseType !== 'code') return refuse('unsupported_response_type', 'Only response_type=code is supported.');

  const requested = (single('scope') ?? '').split(' ').filter(Boolean);
  if (!requested.includes('openid')) return refuse('invalid_scope', 'scope must contain openid.');
  // OIDC Core §3.1.2.1: scope values that are not understood are ignored.
  const scope = SUPPORTED_SCOPES.filter((s) => requested.includes(s)).join(' ');

  const codeChallenge = single('code_challenge');
  const method = single('code_challenge_method');
  if (codeChallenge === null) return refuse('invalid_request', 'code_challenge is missing: PKCE (S256) is required.');
  if (method === null) return refuse('invalid_request', 'code_challenge_method is missing: PKCE with S256 is required.');
  if (method !== 'S256') return refuse('invalid_request', 'code_challenge_method must be S256.');
  if (!PKCE_VALUE.test(codeChallenge)) return refuse('invalid_request', 'code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~.');

  const nonce = single('nonce');
  if (nonce !== null && nonce.length > MAX_NONCE_LENGTH) return refuse('invalid_request', `nonce is longer than ${MAX_NONCE_LENGTH} characters.`);

  const prompts = (single('prompt') ?? '').split(' ').filter(Boolean);
  if (prompts.some((p) => !['none', 'login', 'consent', 'select_account'].includes(p))) {
    return refuse('invalid_request', 'prompt must be none, login, consent or select_account.');
  }
  if (prompts.includes('none') && prompts.length > 1) return refuse('invalid_request', 'prompt=none cannot be combined with another value.');

  const rawMaxAge = single('max_age');
  let maxAge: number | null = null;
  if (rawMaxAge !== null) {
    if (!/^\d{1,10}$/.test(rawMaxAge) || Number(rawMaxAge) > MAX_AGE_LIMIT) return refuse('invalid_request', 'max_age must be a whole number of seconds.');
    maxAge = Number(rawMaxAge);
  }
  const loginHint = single('login_hint');
  if (loginHint !== null && loginHint.length > MAX_LOGIN_HINT_LENGTH) return refuse('invalid_request', 'login_hint is too long.');
  if (query.request || query.request_uri) return refuse('invalid_request', 'Request objects (request, request_uri) are not supported.');
  const responseMode = single('response_mode');
  if (responseMode !== null && responseMode !== 'query') return refuse('invalid_request', 'response_mode must be query.');

  const prompt = prompts.includes('none') ? 'none' : prompts.includes('login') || maxAge === 0 ? 'login' : null;
  return {
    kind: 'valid',
    client,
    request: {
      clientId,
      redirectUri,
      scope,
      state,
      nonce: nonce || null,
      codeChallenge,
      prompt,
      maxAge,
      loginHint: loginHint || null,
    },
  };
}

function errorRedirect(
  deps: Pick<Deps, 'config'>,
  redirectUri: string,
  state: string | null,
  error: OAuthErrorCode,
  description: string,
): Extract<AuthorizationOutcome, { kind: 'redirect' }> {
  return { kind: 'redirect', location: redirectTo(redirectUri, { error, error_description: description, state, iss: deps.config.issuer }) };
}

/** `uri` with the parameters added to its query (RFC 6749 §4.1.2: keep the query it already has). */
function redirectTo(uri: string, params: Record<string, string | null>): string {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  return url.href;
}
