/** Every expected failure the domain reports; the HTTP layer maps each to one status. */
export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'invalid_code'
  | 'invalid_passkey'
  | 'forbidden'
  | 'reauthentication_required'
  | 'not_found'
  | 'rate_limited'
  | 'identity_limit'
  | 'handle_taken'
  | 'primary_identity'
  | 'last_identity'
  | 'database_limit'
  | 'passkey_limit'
  | 'key_in_use'
  | 'email_taken';

export interface Failure<C extends ErrorCode = ErrorCode> {
  ok: false;
  code: C;
  message?: string;
  /** Seconds, for `rate_limited`. */
  retryAfter?: number;
}

export type Result<T, C extends ErrorCode = ErrorCode> = ({ ok: true } & T) | Failure<C>;

export function fail<C extends ErrorCode>(code: C, message?: string, retryAfter?: number): Failure<C> {
  return { ok: false, code, message, retryAfter };
}
