import { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { requestCode } from '../../domain/otp/otp';
import type { AppEnv } from '../env';
import { failure } from '../errors';
import { error, errors, json, PUBLIC } from '../openapi-docs';
import { CodeSent } from '../openapi-schemas';
import { describeRoute } from 'hono-openapi';
import { email } from '../schemas';
import { validate } from '../validate';

export const requestCodeBody = z.object({ email });

const doc = describeRoute({
  operationId: 'requestCode',
  summary: 'Email a one-time sign-in code',
  tags: ['codes'],
  security: PUBLIC,
  responses: {
    202: json('Code sent (the same answer whether or not an account exists).', CodeSent),
    ...errors(400, 413, 503),
    429: error(429, 'rate_limited: too many codes for this email or client IP.'),
  },
});

export function verifyRoutes(deps: Deps) {
  return new Hono<AppEnv>().post('/', doc, validate('json', requestCodeBody), async (c) => {
    const result = await requestCode(deps, c.req.valid('json').email, c.var.meta.ipAddress);
    if (!result.ok) return failure(c, result);
    return c.json({ expiresAt: result.expiresAt.toISOString() }, 202);
  });
}
