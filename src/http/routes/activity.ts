import { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../../deps';
import { listActivity } from '../../domain/activity/list';
import { requireSession } from '../auth';
import type { AppEnv } from '../env';
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

export function activityRoutes(deps: Deps) {
  return new Hono<AppEnv>().get('/', requireSession(deps), validate('query', activityQuery), async (c) => {
    const page = await listActivity(deps, c.var.auth.user.id, c.req.valid('query'));
    return c.json({ activity: page.activity.map(presentActivity), next: page.next === null ? null : String(page.next) }, 200);
  });
}
