import type { Config } from '../config';
import type { ActivityRow, PasskeyRow, ProfileRow, SessionRow, UserRow } from '../db/schema';
import type { SigningKeyInfo } from '../domain/keys/rotation';
import { roleOf } from '../domain/sessions/permissions';

/** JSON shapes of the contract. */
export function presentUser(config: Pick<Config, 'adminEmails'>, user: UserRow) {
  return {
    id: user.id,
    identity: user.identity,
    email: user.email,
    role: roleOf(config, user),
    createdAt: user.createdAt.toISOString(),
  };
}

export function presentSession(session: SessionRow, currentId: string | null) {
  return {
    id: session.id,
    method: session.method,
    createdAt: session.createdAt.toISOString(),
    lastActiveAt: session.lastActiveAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    ipAddress: session.ipAddress,
    userAgent: session.userAgent,
    current: session.id === currentId,
  };
}

export interface CurrentSessionJson {
  session: ReturnType<typeof presentSession>;
  user: ReturnType<typeof presentUser>;
}

/** Bodies of `GET /auth/sessions/current` by session row: the session cache hands out the same rows until they change. */
const currentBodies = new WeakMap<SessionRow, { user: UserRow; config: Pick<Config, 'adminEmails'>; body: string }>();

/**
 * `{ session, user }` of the caller's own session, as JSON text: serialized once per session row
 * and account row, and again whenever either is read anew (a slide, a change, an expired cache
 * entry), so a hot session's checks skip the presenters and the serializer.
 */
export function currentSessionBody(config: Pick<Config, 'adminEmails'>, session: SessionRow, user: UserRow): string {
  const memo = currentBodies.get(session);
  if (memo !== undefined && memo.user === user && memo.config === config) return memo.body;
  const json: CurrentSessionJson = { session: presentSession(session, session.id), user: presentUser(config, user) };
  const body = JSON.stringify(json);
  currentBodies.set(session, { user, config, body });
  return body;
}

export function presentProfile(profile: ProfileRow) {
  return {
    id: profile.id,
    displayName: profile.displayName,
    handle: profile.handle,
    email: profile.email,
    birthday: profile.birthday,
    avatarUrl: profile.avatarUrl,
    bannerUrl: profile.bannerUrl,
    isPrimary: profile.isPrimary,
    createdAt: profile.createdAt.toISOString(),
  };
}

export function presentActivity(entry: ActivityRow) {
  return {
    id: String(entry.id),
    action: entry.action,
    severity: entry.severity,
    ipAddress: entry.ipAddress,
    userAgent: entry.userAgent,
    metadata: entry.metadata,
    createdAt: entry.createdAt.toISOString(),
  };
}

export function presentPasskey(passkey: PasskeyRow) {
  return {
    id: passkey.id,
    name: passkey.name,
    createdAt: passkey.createdAt.toISOString(),
    lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
    deviceType: passkey.deviceType,
    backedUp: passkey.backedUp,
    transports: passkey.transports,
  };
}

export function presentSigningKey(key: SigningKeyInfo) {
  return {
    kid: key.kid,
    createdAt: key.createdAt.toISOString(),
    activatesAt: key.activatesAt.toISOString(),
    retiredAt: key.retiredAt?.toISOString() ?? null,
    signing: key.signing,
  };
}
