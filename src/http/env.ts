import type { RequestMeta } from '../deps';
import type { SessionAuth } from '../domain/sessions/sessions';

/** Hono's per-request variables. */
export interface AppEnv {
  Variables: {
    meta: RequestMeta;
    auth: SessionAuth;
  };
}
