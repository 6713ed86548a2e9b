import { compactVerify, errors } from 'jose';
import type { Deps, RequestMeta } from '../../deps';
import { findVerificationKey, SIGNING_ALG } from '../keys/keys';
import { revokeSession, type SessionAuth } from '../sessions/sessions';
import { findClient } from './clients';

const MAX_TOKEN_LENGTH = 4096;

/** Who an `id_token_hint` names: the client it was issued to, the account and the session behind it. */
export interface IdTokenHint {
  clientId: string;
  userId: string;
  sessionId: string;
}

/**
 * The client, account and session of an id token this server issued, or null. The signature,
 * `iss` and `aud` (a registered client) are checked; `exp` is not, since RP-initiated logout
 * takes the id token the client holds, which may have expired (OpenID Connect RP-Initiated
 * Logout §2). An access token (`typ: at+jwt`) is not an id token.
 */
export async function verifyIdTokenHint(deps: Pick<Deps, 'config' | 'db' | 'clock'>, token: string): Promise<IdTokenHint | null> {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  let payload: unknown;
  try {
    const verified = await compactVerify(
      token,
      async (header) => {
        const key = await findVerificationKey(deps, header.kid);
        if (!key) throw new errors.JWKSNoMatchingKey();
        return key;
      },
      { algorithms: [SIGNING_ALG] },
    );
    if (verified.protectedHeader.typ !== 'JWT') return null;
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch (error) {
    if (error instanceof errors.JOSEError || error instanceof TypeError || error instanceof SyntaxError) return null;
    throw error;
  }
  if (!payload || typeof payload !== 'object') return null;
  const { iss, aud, sub, sid } = payload as Record<string, unknown>;
  if (iss !== deps.config.issuer || typeof aud !== 'string' || typeof sub !== 'string' || typeof sid !== 'string') return null;
  if (!(await findClient(deps, aud))) return null;
  return { clientId: aud, userId: sub, sessionId: sid };
}

/**
 * Where to send the browser after sign-out: `post_logout_redirect_uri` with `state`, when it is
 * registered (exactly) for the client; null otherwise (the signed-out page).
 */
export async function postLogoutRedirect(
  deps: Pick<Deps, 'config' | 'db'>,
  clientId: string | undefined,
  uri: string | undefined,
  state: string | undefined,
): Promise<string | null> {
  if (!clientId || !uri) return null;
  const client = await findClient(deps, clientId);
  if (!client || !client.postLogoutRedirectUris.includes(uri)) return null;
  const url = new URL(uri);
  if (state) url.searchParams.set('state', state);
  return url.href;
}

/** The parameters of `GET /oauth/logout` (RP-Initiated Logout §2), each present at most once. */
export interface LogoutRequest {
  id_token_hint?: string;
  post_logout_redirect_uri?: string;
  state?: string;
  client_id?: string;
}

export type LogoutOutcome =
  /** The browser is signed out: go to `redirect` (a registered post-logout URI, with state), or show the signed-out page. */
  | { kind: 'signed_out'; redirect: string | null; endedSession: boolean }
  /** Ask first: the confirmation page posts these fields back. */
  | { kind: 'confirm'; fields: Record<string, string> };

/**
 * `GET /oauth/logout`: with a valid `id_token_hint` for the browser's session (or when the browser
 * has none left), the session ends (its grants cascade) and the browser goes to the registered
 * post-logout URI; without one, nobody is signed out and the page asks to confirm.
 */
export async function requestLogout(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'sessionCache'>,
  request: LogoutRequest,
  browser: SessionAuth | null,
  meta: RequestMeta,
): Promise<LogoutOutcome> {
  const hint = request.id_token_hint ? await verifyIdTokenHint(deps, request.id_token_hint) : null;
  const valid = hint && (!request.client_id || request.client_id === hint.clientId) ? hint : null;
  if (valid && (!browser || browser.session.id === valid.sessionId)) {
    if (browser) await revokeSession(deps, browser.user.id, browser.session.id, meta);
    const redirect = await postLogoutRedirect(deps, valid.clientId, request.post_logout_redirect_uri, request.state);
    return { kind: 'signed_out', redirect, endedSession: browser !== null };
  }
  const fields: Record<string, string> = {};
  if (request.post_logout_redirect_uri) fields.post_logout_redirect_uri = request.post_logout_redirect_uri;
  if (request.state) fields.state = request.state;
  const clientId = request.client_id ?? hint?.clientId;
  if (clientId) fields.client_id = clientId;
  return { kind: 'confirm', fields };
}

/**
 * `POST /oauth/logout`, the confirmed sign-out (its CSRF check is the route's): the browser's
 * session ends, and the browser goes to a post-logout URI registered for the posted client.
 */
export async function confirmLogout(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'sessionCache'>,
  request: Omit<LogoutRequest, 'id_token_hint'>,
  browser: SessionAuth | null,
  meta: RequestMeta,
): Promise<Extract<LogoutOutcome, { kind: 'signed_out' }>> {
  if (browser) await revokeSession(deps, browser.user.id, browser.session.id, meta);
  const redirect = await postLogoutRedirect(deps, request.client_id, request.post_logout_redirect_uri, request.state);
  return { kind: 'signed_out', redirect, endedSession: browser !== null };
}
