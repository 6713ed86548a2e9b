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
