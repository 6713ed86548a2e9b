import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../deps';
import { hasPermission, type Permission } from '../domain/sessions/permissions';
import type { AppEnv } from './env';
import { errorResponse } from './errors';

/** After `requireAuth({ accept: ['session'] })`: `403 forbidden` unless the session holds `permission`. */
export function requirePermission(deps: Pick<Deps, 'clock' | 'config'>, permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!hasPermission(deps, c.var.auth, permission)) return errorResponse(c, 'forbidden', `This needs the ${permission} permission.`);
    await next();
  };
}
