import type { Config } from '../../config';
import type { UserRow } from '../../db/schema';
import type { Deps } from '../../deps';
import { isFresh, type SessionAuth } from './sessions';

export type Role = 'user' | 'admin';

/** An account is an admin while its verified email is listed in `ADMIN_EMAILS`. */
export function roleOf(config: Pick<Config, 'adminEmails'>, user: Pick<UserRow, 'email'>): Role {
  return user.email !== null && config.adminEmails.includes(user.email) ? 'admin' : 'user';
}

export type Permission =
  | 'sessions:read'
  | 'sessions:revoke'
  | 'passkeys:read'
  | 'passkeys:write'
  | 'identities:read'
  | 'identities:write'
  | 'activity:read'
  | 'tokens:issue'
  | 'users:read'
  | 'users:write';

const EVERY_SESSION: Permission[] = [
  'sessions:read',
  'sessions:revoke',
  'passkeys:read',
  'identities:read',
  'identities:write',
  'activity:read',
  'tokens:issue',
];

/** What a session may do now: `passkeys:write` only while fresh, `users:*` for admins. */
export function sessionPermissions(deps: Pick<Deps, 'clock' | 'config'>, auth: SessionAuth): Permission[] {
  const permissions = [...EVERY_SESSION];
  if (isFresh(deps, auth.session)) permissions.push('passkeys:write');
  if (roleOf(deps.config, auth.user) === 'admin') permissions.push('users:read', 'users:write');
  return permissions;
}

export function hasPermission(deps: Pick<Deps, 'clock' | 'config'>, auth: SessionAuth, permission: Permission): boolean {
  return sessionPermissions(deps, auth).includes(permission);
}
