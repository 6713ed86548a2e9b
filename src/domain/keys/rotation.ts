import { and, eq, isNull } from 'drizzle-orm';
import { signingKeys } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { recordActivity } from '../activity/record';
import { fail, type Result } from '../result';
import { forgetKeySet, generateSigningKey, loadKeySet, signingRecordOf, type KeyRecord } from './keys';

/** A key as an operator sees it: its schedule, and whether it signs now. */
export interface SigningKeyInfo {
  kid: string;
  createdAt: Date;
  activatesAt: Date;
  retiredAt: Date | null;
  signing: boolean;
}

type RotationDeps = Pick<Deps, 'config' | 'db' | 'clock'>;

function infoOf(record: KeyRecord, signingKid: string): SigningKeyInfo {
  return {
    kid: record.kid,
    createdAt: record.createdAt,
    activatesAt: record.activatesAt,
    retiredAt: record.retiredAt,
    signing: record.kid === signingKid,
  };
}

/** Every key of the set, retired ones included, oldest first (the first key leads), read afresh. */
export async function listSigningKeys(deps: RotationDeps): Promise<SigningKeyInfo[]> {
  const keys = await loadKeySet(deps);
  const signing = signingRecordOf(keys, deps.clock.now());
  return keys.map((k) => infoOf(k, signing.kid));
}

/**
 * Adds a new P-256 key, published at once (in the JWKS of every process that reads the set) and
 * signing from `KEY_PUBLISH_DELAY` on. Logged on the admin's activity as `signing_key_rotated`.
 */
export async function rotateSigningKey(deps: RotationDeps, adminId: string, meta: RequestMeta): Promise<Result<{ key: SigningKeyInfo }>> {
  const { pem, key } = await generateSigningKey();
  const createdAt = deps.clock.now();
  const activatesAt = new Date(createdAt.getTime() + deps.config.keyPublishDelaySeconds * 1000);
  await deps.db.transaction(async (tx) => {
    await tx.insert(signingKeys).values({ id: key.kid, kid: key.kid, privateKeyPem: pem, createdAt, activatesAt });
    await recordActivity(
      deps,
      { userId: adminId, action: 'signing_key_rotated', severity: 'info', meta, metadata: { kid: key.kid, activatesAt: activatesAt.toISOString() } },
      tx,
    );
  });
  forgetKeySet(deps);
  return { ok: true, key: { kid: key.kid, createdAt, activatesAt, retiredAt: null, signing: activatesAt <= createdAt } };
}

/**
 * Retires a published key: it stops verifying at once in this process (within `KEY_SET_TTL_MS`
 * in the others), so every token it signed fails, the never-expiring identity tokens included.
 * `key_in_use` for the key that signs now; `not_found` for a kid that is not published (unknown,
 * or retired already). Logged on the admin's activity as `signing_key_retired`.
 */
export async function retireSigningKey(
  deps: RotationDeps,
  adminId: string,
  kid: string,
  meta: RequestMeta,
): Promise<Result<{ key: SigningKeyInfo }, 'not_found' | 'key_in_use'>> {
  const keys = await loadKeySet(deps);
  const now = deps.clock.now();
  const target = keys.find((k) => k.kid === kid && k.retiredAt === null);
  if (!target) return fail('not_found', 'No published signing key has this kid.');
  // Retiring a key other than the signing one never changes which key signs (that is the newest
  // active one), so checking before the update is enough.
  if (signingRecordOf(keys, now).kid === kid) {
    return fail('key_in_use', 'This key signs tokens now. Rotate, wait until the new key signs, then retire this one.');
  }
  const retired = await deps.db.transaction(async (tx) => {
    const rows = await tx
      .update(signingKeys)
      .set({ retiredAt: now })
      .where(and(eq(signingKeys.kid, kid), isNull(signingKeys.retiredAt)))
      .returning({ kid: signingKeys.kid });
    if (rows.length === 0) return false;
    await recordActivity(deps, { userId: adminId, action: 'signing_key_retired', severity: 'warning', meta, metadata: { kid } }, tx);
    return true;
  });
  forgetKeySet(deps);
  if (!retired) return fail('not_found', 'No published signing key has this kid.');
  return { ok: true, key: { ...infoOf(target, ''), retiredAt: now } };
}
