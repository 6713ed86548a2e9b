import { fail, type Result } from '../result';
import type { Caller } from './tokens';

const OTHER_IDENTITY = 'The token belongs to another identity.';

/**
 * Acting on an identity (`set-email`, registering or removing its databases) takes that
 * identity's own credential: any other caller is `unauthorized`, as if it had sent no token.
 */
export function requireOwnIdentity(caller: Caller, identity: string): Result<object, 'unauthorized'> {
  return caller.user.identity === identity ? { ok: true } : fail('unauthorized', OTHER_IDENTITY);
}

/**
 * `verify` asks whether the credential belongs to `identity`. The credential itself is valid
 * (the caller was authenticated), so another identity's is a wrong question, `invalid_request`.
 */
export function verifyOwnIdentity(caller: Caller, identity: string): Result<object, 'invalid_request'> {
  const owned = requireOwnIdentity(caller, identity);
  return owned.ok ? owned : fail('invalid_request', owned.message);
}
