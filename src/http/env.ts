import type { RequestMeta } from '../deps';
import type { SessionAuth } from '../domain/sessions/sessions';
import type { Caller } from '../domain/spacetime/tokens';

/** Hono's per-request variables. */
export interface AppEnv {
  Variables: {
    /** Set by `requestId`: the answer's `X-Request-Id`, also in the request's log line. */
    requestId: string;
    meta: RequestMeta;
    /** Set by `requireAuth` on session-only routes. */
    auth: SessionAuth;
    /** Set by `requireAuth` on routes that also take identity tokens: the account behind an identity token or a session token. */
    caller: Caller;
    /** The `WWW-Authenticate` challenges of a `401` answer, set by `challengeWith`. */
    challenges: readonly string[];
  };
}
