import { Hono } from 'hono';
import type { Deps } from '../../deps';
import { users } from '../../db/schema';
import type { AppEnv } from '../env';
import { errorResponse } from '../errors';
import { describe } from '../route-docs';

/** Liveness (`/healthz`, the process answers) and readiness (`/readyz`, the database answers). */
export function healthRoutes(deps: Pick<Deps, 'db' | 'log'>) {
  return new Hono<AppEnv>()
    .get('/healthz', describe({ summary: 'Liveness: the process is up', tags: ['health'], responses: { 200: 'Up.' } }), (c) =>
      c.json({ status: 'ok' as const }, 200),
    )
    .get(
      '/readyz',
      describe({
        summary: 'Readiness: the database answers a query',
        tags: ['health'],
        responses: { 200: 'Ready.', 503: 'unavailable: the database cannot be reached.' },
      }),
      async (c) => {
        try {
          await deps.db.select({ id: users.id }).from(users).limit(1);
        } catch (error) {
          deps.log.log('warn', 'readiness check failed', { error: error instanceof Error ? error.message.split('\n')[0] : String(error) });
          return errorResponse(c, 'unavailable');
        }
        return c.json({ status: 'ok' as const }, 200);
      },
    );
}
