import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { listActivity } from '../../domain/activity/list';
import { requireAuth } from '../auth';
import type { AppEnv } from '../env';
import { AUTHENTICATED, errors, json } from '../openapi-docs';
import { ActivityPage } from '../openapi-schemas';
import { presentActivity } from '../present';
import { pageLimit } from '../schemas';
import { validate } from '../validate';

export const activityQuery = z.object({
  limit: pageLimit,
  before: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'must be an activity id')
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER, 'must be an activity id'))
    .optional(),
});

const docs = {
  list: describeRoute({
    operationId: 'listActivity',
    summary: "The caller's security events, newest first",
    tags: ['activity'],
    security: AUTHENTICATED,
    responses: { 200: json('A page of events.', ActivityPage), ...errors(400, 401, 503) },
  }),
};

export function activityRoutes(deps: Deps) {
  return new Hono<AppEnv>().get('/', docs.list, requireAuth(deps, { accept: ['session'] }), validate('query', activityQuery), async (c) => {
    const page = await listActivity(deps, c.var.auth.user.id, c.req.valid('query'));
    return c.json({ activity: page.activity.map(presentActivity), next: page.next === null ? null : String(page.next) }, 200);
  });
}
