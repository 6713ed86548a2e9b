import { createHash, randomBytes } from 'node:crypto';

/**
 * An authorization request for `client` (authorization code, PKCE S256, `openid
 * offline_access`) with a fresh verifier, and the token request that redeems the code its
 * redirect carries.
 */
export function pkceAuthorization(client: { id: string; redirectUri: string }) {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: client.redirectUri,
    scope: 'openid offline_access',
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const redeem = (location: string) => ({
    grant_type: 'authorization_code',
    code: new URL(location).searchParams.get('code')!,
    redirect_uri: client.redirectUri,
    client_id: client.id,
    code_verifier: verifier,
  });
  return { query, redeem };
}
