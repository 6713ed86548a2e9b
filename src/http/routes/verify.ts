import { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { requestCode } from '../../domain/otp/otp';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { describe } from '../route-docs';
import { email } from '../schemas';
import { validate } from '../validate';

export const requestCodeBody = z.object({ email });

const doc = {
  summary: 'Email a one-time sign-in code',
  responses: {
    202: '{ expiresAt }: the same answer whether or not an account exists.',
    429: 'rate_limited: too many codes for this email or client IP.',
  },
};

export function verifyRoutes(deps: Deps) {
  return new Hono<AppEnv>().post('/', describe(doc), validate('json', requestCodeBody), async (c) => {
    const result = await requestCode(deps, c.req.valid('json').email, c.var.meta.ipAddress);
    if (!result.ok) return failure(c, result);
    return c.json({ expiresAt: result.expiresAt.toISOString() }, 202);
  });
}
