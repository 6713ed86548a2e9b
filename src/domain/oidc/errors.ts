/** The OAuth 2.0 / OpenID Connect error codes this provider answers with (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'login_required'
  | 'invalid_token';

export interface OAuthFailure<C extends OAuthErrorCode = OAuthErrorCode> {
  ok: false;
  error: C;
  description: string;
}

export type OAuthResult<T, C extends OAuthErrorCode = OAuthErrorCode> = ({ ok: true } & T) | OAuthFailure<C>;

export function oauthFail<C extends OAuthErrorCode>(error: C, description: string): OAuthFailure<C> {
  return { ok: false, error, description };
}
