import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { deleteOwnAccount } from '../../domain/accounts/deletion';
import { confirmEmailChange, requestEmailChange } from '../../domain/accounts/email-change';
import { requireAuth } from '../auth';
import { clearSessionCookie } from '../cookies';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { AUTHENTICATED, error, errors, json, noContent } from '../openapi-docs';
import { CodeSent, OneUser } from '../openapi-schemas';
import { presentUser } from '../present';
import { email } from '../schemas';
import { validate } from '../validate';

export const emailChangeBody = z.object({ email });
export const emailChangeVerifyBody = z.object({ email, token: z.string().trim().min(1).max(512) });

const REAUTHENTICATE = error(
  403,
  'reauthentication_required: the session is more than 10 minutes old, sign in again; forbidden: a cookie-authenticated request from an origin that is not allowed.',
);
const EMAIL_TAKEN = error(409, 'email_taken: another account uses this email address.');

const docs = {
  delete: describeRoute({
    operationId: 'deleteAccount',
    summary: 'Delete the caller’s account and everything it owns (fresh session)',
    description:
      'Sessions, passkeys, profiles, database registrations and OpenID Connect grants and refresh tokens go in one transaction; activity rows are kept without IP address and user agent until retention removes them. The address can then sign up again, as a new account with a new identity. Clears the session cookie.',
    tags: ['account'],
    security: AUTHENTICATED,
    responses: { 204: noContent('Deleted.'), ...errors(401, 503), 403: REAUTHENTICATE },
  }),
  requestEmailChange: describeRoute({
    operationId: 'requestEmailChange',
    summary: 'Start changing the account’s email: mail a code to the new address (fresh session)',
    tags: ['account'],
    security: AUTHENTICATED,
    responses: {
      202: json('Code sent to the new address.', CodeSent),
      ...errors(401, 413, 503),
      400: error(400, 'invalid_request: not an email address, or already the account’s address.'),
      403: REAUTHENTICATE,
      409: EMAIL_TAKEN,
      429: error(429, 'rate_limited: too many codes for this address or client IP.'),
    },
  }),
  confirmEmailChange: describeRoute({
    operationId: 'confirmEmailChange',
    summary: 'Finish changing the account’s email with the code mailed to the new address',
    tags: ['account'],
    security: AUTHENTICATED,
    responses: {
      200: json('The account, with its new email.', OneUser),
      ...errors(400, 403, 413, 503),
      401: error(401, 'unauthorized: no valid session; invalid_code: a wrong, expired, used or burned code.'),
      409: EMAIL_TAKEN,
      429: error(429, 'rate_limited: too many wrong codes for this address.'),
    },
  }),
};

/** `/auth/account`: the caller's own account (session only). */
export function accountRoutes(deps: Deps) {
  const auth = requireAuth(deps, { accept: ['session'] });
  return new Hono<AppEnv>()
    .delete('/', docs.delete, auth, async (c) => {
      const result = await deleteOwnAccount(deps, c.var.auth, c.var.meta);
      if (!result.ok) return failure(c, result);
      clearSessionCookie(c, deps.config);
      return c.body(null, 204);
    })
    .post('/email', docs.requestEmailChange, auth, validate('json', emailChangeBody), async (c) => {
      const result = await requestEmailChange(deps, c.var.auth, c.req.valid('json').email, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ expiresAt: result.expiresAt.toISOString() }, 202);
    })
    .post('/email/verify', docs.confirmEmailChange, auth, validate('json', emailChangeVerifyBody), async (c) => {
      const { email, token } = c.req.valid('json');
      const result = await confirmEmailChange(deps, c.var.auth, { email, code: token }, c.var.meta);
      if (!result.ok) return failure(c, result);
      return c.json({ user: presentUser(deps.config, result.user) }, 200);
    });
}
