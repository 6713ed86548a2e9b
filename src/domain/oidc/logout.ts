import { compactVerify, errors } from 'jose';
import type { Deps } from '../../deps';
import { findVerificationKey, SIGNING_ALG } from '../keys/keys';
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
