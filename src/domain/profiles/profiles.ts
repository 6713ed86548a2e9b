import { and, asc, eq, ne } from 'drizzle-orm';
import type { Executor, Transaction } from '../../db/database';
import { violatedUniqueConstraint } from '../../db/errors';
import { profiles, users, type ProfileRow } from '../../db/schema';
import type { Deps, RequestMeta } from '../../deps';
import { recordActivity } from '../activity/record';
import { newId } from '../crypto';
import { fail, type Failure, type Result } from '../result';

/** A user owns between one and this many profiles. */
export const MAX_PROFILES = 5;
const HANDLE_CONSTRAINT = 'profiles_handle_unique';

export interface ProfileFields {
  displayName: string;
  /** Already lower-cased. */
  handle: string;
  email: string | null;
  birthday: string | null;
  avatarUrl: string | null;
  bannerUrl: string | null;
}

export type NewProfile = Pick<ProfileFields, 'displayName' | 'handle'> & Partial<ProfileFields>;
export type ProfilePatch = Partial<ProfileFields>;

type ProfileResult<C extends 'not_found' | 'identity_limit' | 'handle_taken'> = Result<{ profile: ProfileRow }, C>;

/** The user's profiles, oldest first. */
export async function listProfiles(deps: Pick<Deps, 'db'>, userId: string): Promise<ProfileRow[]> {
  return deps.db.select().from(profiles).where(eq(profiles.userId, userId)).orderBy(asc(profiles.createdAt), asc(profiles.id));
}

/** One of the user's identities; `not_found` for anyone else's. */
export async function getProfile(deps: Pick<Deps, 'db'>, userId: string, profileId: string): Promise<ProfileResult<'not_found'>> {
  const profile = await findOwned(deps.db, userId, profileId);
  return profile ? { ok: true, profile } : notFound();
}

/**
 * Adds an profile; the user's first one becomes primary. The user's row is locked for the
 * transaction, so concurrent creates are counted one after another and never pass the limit.
 */
export async function createProfile(
  deps: Pick<Deps, 'db' | 'clock' | 'random'>,
  userId: string,
  input: NewProfile,
  meta: RequestMeta,
): Promise<ProfileResult<'not_found' | 'identity_limit' | 'handle_taken'>> {
  return withHandleCheck(() =>
    deps.db.transaction(async (tx) => {
      if (!(await lockUser(tx, userId))) return notFound();
      const existing = await tx.select({ id: profiles.id }).from(profiles).where(eq(profiles.userId, userId));
      if (existing.length >= MAX_PROFILES) return fail('identity_limit', `A user can have at most ${MAX_PROFILES} profiles.`);
      const [profile] = await tx
        .insert(profiles)
        .values({
          id: newId(deps),
          userId,
          displayName: input.displayName,
          handle: input.handle,
          email: input.email ?? null,
          birthday: input.birthday ?? null,
          avatarUrl: input.avatarUrl ?? null,
          bannerUrl: input.bannerUrl ?? null,
          isPrimary: existing.length === 0,
          createdAt: deps.clock.now(),
        })
        .returning();
      await recordActivity(deps, { userId, action: 'identity_created', severity: 'info', meta, metadata: { identityId: profile!.id } }, tx);
      return { ok: true, profile: profile! };
    }),
  );
}

/** Changes the given fields (`null` clears); logs the names of the fields that changed. */
export async function updateProfile(
  deps: Pick<Deps, 'db' | 'clock'>,
  userId: string,
  profileId: string,
  patch: ProfilePatch,
  meta: RequestMeta,
): Promise<ProfileResult<'not_found' | 'handle_taken'>> {
  return withHandleCheck(() =>
    deps.db.transaction(async (tx) => {
      if (!(await lockUser(tx, userId))) return notFound();
      const current = await findOwned(tx, userId, profileId);
      if (!current) return notFound();
      const changes = Object.fromEntries(
        Object.entries(patch).filter(([key, value]) => value !== undefined && current[key as keyof ProfileFields] !== value),
      ) as ProfilePatch;
      const fields = Object.keys(changes);
      if (fields.length === 0) return { ok: true, profile: current };
      const [profile] = await tx.update(profiles).set(changes).where(eq(profiles.id, profileId)).returning();
      await recordActivity(deps, { userId, action: 'identity_updated', severity: 'info', meta, metadata: { identityId: profileId, fields } }, tx);
      return { ok: true, profile: profile! };
    }),
  );
}

/**
 * Makes one profile the primary. Under the user's row lock the old primary is cleared before
 * the new one is set; the partial unique index would refuse a second primary anyway.
 */
export async function setPrimaryProfile(
  deps: Pick<Deps, 'db' | 'clock'>,
  userId: string,
  profileId: string,
  meta: RequestMeta,
): Promise<Result<object, 'not_found'>> {
  return deps.db.transaction(async (tx) => {
    if (!(await lockUser(tx, userId))) return notFound();
    const target = await findOwned(tx, userId, profileId);
    if (!target) return notFound();
    if (target.isPrimary) return { ok: true };
    await tx
      .update(profiles)
      .set({ isPrimary: false })
      .where(and(eq(profiles.userId, userId), eq(profiles.isPrimary, true), ne(profiles.id, profileId)));
    await tx.update(profiles).set({ isPrimary: true }).where(eq(profiles.id, profileId));
    await recordActivity(deps, { userId, action: 'identity_updated', severity: 'info', meta, metadata: { identityId: profileId, fields: ['isPrimary'] } }, tx);
    return { ok: true };
  });
}

/**
 * Deletes an profile that is neither the user's last one (`last_identity`, checked first) nor
 * the primary (`primary_identity`).
 */
export async function deleteProfile(
  deps: Pick<Deps, 'db' | 'clock'>,
  userId: string,
  profileId: string,
  meta: RequestMeta,
): Promise<Result<object, 'not_found' | 'last_identity' | 'primary_identity'>> {
  return deps.db.transaction(async (tx) => {
    if (!(await lockUser(tx, userId))) return notFound();
    const owned = await tx.select().from(profiles).where(eq(profiles.userId, userId));
    const target = owned.find((p) => p.id === profileId);
    if (!target) return notFound();
    if (owned.length === 1) return fail('last_identity', 'The only identity cannot be deleted.');
    if (target.isPrimary) return fail('primary_identity', 'Make another identity primary before deleting this one.');
    await tx.delete(profiles).where(eq(profiles.id, profileId));
    await recordActivity(
      deps,
      { userId, action: 'identity_deleted', severity: 'warning', meta, metadata: { identityId: profileId, handle: target.handle } },
      tx,
    );
    return { ok: true };
  });
}

/**
 * Serialises every change to one user's profiles: the lock lasts until the transaction ends.
 * Every change takes it first, so no two of them wait on each other's rows in opposite orders.
 * `NO KEY UPDATE` leaves the key-share locks of foreign keys alone: rows that reference the user
 * (its activity, its sessions) can still be written meanwhile.
 */
async function lockUser(tx: Transaction, userId: string): Promise<boolean> {
  const [row] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('no key update');
  return row !== undefined;
}

async function findOwned(executor: Executor, userId: string, profileId: string): Promise<ProfileRow | undefined> {
  const [row] = await executor.select().from(profiles).where(and(eq(profiles.id, profileId), eq(profiles.userId, userId)));
  return row;
}

/** A handle taken by a concurrent or earlier insert is an answer, not an outage. */
async function withHandleCheck<T>(run: () => Promise<T>): Promise<T | Failure<'handle_taken'>> {
  try {
    return await run();
  } catch (error) {
    if (violatedUniqueConstraint(error) === HANDLE_CONSTRAINT) return fail('handle_taken', 'That handle is already taken.');
    throw error;
  }
}

function notFound(): Failure<'not_found'> {
  return fail('not_found', 'No such identity.');
}
