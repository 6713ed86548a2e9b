import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import {
  createProfile,
  deleteProfile,
  getProfile,
  listProfiles,
  setPrimaryProfile,
  updateProfile,
} from '../../domain/profiles/profiles';
import { requireAuth } from '../auth';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { AUTHENTICATED, error, errors, json } from '../openapi-docs';
import { ProfileList, OneProfile, Success } from '../openapi-schemas';
import { presentProfile } from '../present';
import { displayName, email } from '../schemas';
import { validate } from '../validate';

/** An absolute http(s) URL with a host, no whitespace, at most 2048 characters. */
const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    if (!/^https?:\/\/[^\s\u0000-\u001f\u007f]+$/i.test(value)) return false;
    try {
      return new URL(value).hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

const hexColour = z.string().regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a hex colour #RGB or #RRGGBB');

/** A real calendar date written `YYYY-MM-DD`. */
const birthday = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((value) => {
    const date = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
  }, 'must be a real calendar date');

const fields = {
  displayName,
  handle: z
    .string()
    .regex(/^[A-Za-z0-9_]{3,32}$/, 'must be 3–32 letters, digits or underscores')
    .transform((handle) => handle.toLowerCase()),
  email: email.nullable(),
  birthday: birthday.nullable(),
  avatarUrl: httpUrl.nullable(),
  bannerUrl: z.union([httpUrl, hexColour], { error: 'must be an http(s) URL or a hex colour' }).nullable(),
};

// Strict: an unknown field (a typo, or `isPrimary`) is a 400 rather than silently ignored.
export const createProfileBody = z.strictObject({
  ...fields,
  email: fields.email.optional(),
  birthday: fields.birthday.optional(),
  avatarUrl: fields.avatarUrl.optional(),
  bannerUrl: fields.bannerUrl.optional(),
});

export const updateProfileBody = z.strictObject({
  displayName: fields.displayName.optional(),
  handle: fields.handle.optional(),
  email: fields.email.optional(),
  birthday: fields.birthday.optional(),
  avatarUrl: fields.avatarUrl.optional(),
  bannerUrl: fields.bannerUrl.optional(),
});

// An id that is not one of the caller's profiles, malformed ones included, is `404`; only one
// holding a NUL character is refused as `400` (by validate()).
export const profileIdParam = z.object({ identityId: z.string() });

const NOT_YOURS = error(404, "not_found: not one of the caller's identities.");

const docs = {
  list: describeRoute({
    operationId: 'listIdentities',
    summary: "The caller's identities (profiles)",
    tags: ['identities'],
    security: AUTHENTICATED,
    responses: { 200: json('The identities.', ProfileList), ...errors(401, 503) },
  }),
  create: describeRoute({
    operationId: 'createIdentity',
    summary: 'Create an identity; the first one is primary',
    tags: ['identities'],
    security: AUTHENTICATED,
    responses: {
      201: json('Created.', OneProfile),
      ...errors(401, 403, 413, 503),
      400: error(400, 'invalid_request; identity_limit: the caller has 5 already; handle_taken.'),
    },
  }),
  get: describeRoute({
    operationId: 'getIdentity',
    summary: 'One of the caller’s identities',
    tags: ['identities'],
    security: AUTHENTICATED,
    responses: { 200: json('The identity.', OneProfile), ...errors(400, 401, 503), 404: NOT_YOURS },
  }),
  update: describeRoute({
    operationId: 'updateIdentity',
    summary: 'Change fields of an identity; null clears an optional one',
    tags: ['identities'],
    security: AUTHENTICATED,
    responses: {
      200: json('The identity as changed.', OneProfile),
      ...errors(401, 403, 413, 503),
      400: error(400, 'invalid_request; handle_taken.'),
      404: NOT_YOURS,
    },
  }),
  setPrimary: describeRoute({
    operationId: 'setPrimaryIdentity',
    summary: 'Make an identity the primary one',
    tags: ['identities'],
    security: AUTHENTICATED,
    responses: { 200: json('Done; exactly one identity is primary.', Success), ...errors(400, 401, 403, 503), 404: NOT_YOURS },
  }),
  delete: describeRoute({
    operationId: 'deleteIdentity',
    summary: 'Delete an identity that is neither primary nor the only one',
    tags: ['identities'],
    security: AUTHENTICATED,
    responses: {
      200: json('Deleted.', Success),
      ...errors(401, 403, 503),
      400: error(400, 'invalid_request; primary_identity: it is the primary one; last_identity: it is the only one.'),
      404: NOT_YOURS,
    },
  }),
};

export function profileRoutes(deps: Deps) {
  return new Hono<AppEnv>()
    .use(requireAuth(deps, { accept: ['session'] }))
    .get('/', docs.list, async (c) => {
      const profiles = await listProfiles(deps, c.var.auth.user.id);
      return c.json({ identities: profiles.map(presentProfile) }, 200);
    })
    .post('/', docs.create, validate('json', createProfileBody), async (c) => {
      const result = await createProfile(deps, c.var.auth.user.id, c.req.valid('json'), c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ identity: presentProfile(result.profile) }, 201);
    })
    .get('/:identityId', docs.get, validate('param', profileIdParam), async (c) => {
      const result = await getProfile(deps, c.var.auth.user.id, c.req.valid('param').identityId);
      if (!result.ok) return failure(c, result);
      return c.json({ identity: presentProfile(result.profile) }, 200);
    })
    .patch('/:identityId', docs.update, validate('param', profileIdParam), validate('json', updateProfileBody), async (c) => {
      const result = await updateProfile(deps, c.var.auth.user.id, c.req.valid('param').identityId, c.req.valid('json'), c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ identity: presentProfile(result.profile) }, 200);
    })
    .post('/:identityId/primary', docs.setPrimary, validate('param', profileIdParam), async (c) => {
      const result = await setPrimaryProfile(deps, c.var.auth.user.id, c.req.valid('param').identityId, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ success: true }, 200);
    })
    .delete('/:identityId', docs.delete, validate('param', profileIdParam), async (c) => {
      const result = await deleteProfile(deps, c.var.auth.user.id, c.req.valid('param').identityId, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ success: true }, 200);
    });
}
