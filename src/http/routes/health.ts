import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { Deps } from '../../deps';
import { checkDatabase } from '../../domain/health';
import type { AppEnv } from '../env';
import { errorResponse } from '../errors';
import { errors, json, PUBLIC } from '../openapi-docs';
import { HealthStatus } from '../openapi-schemas';

/** Liveness (`/healthz`, the process answers) and readiness (`/readyz`, the database answers). */
export function healthRoutes(deps: Pick<Deps, 'db' | 'log'>) {
  return new Hono<AppEnv>()
    .get('/healthz', describeRoute({
        operationId: 'getLiveness',
        summary: 'Liveness: the process is up',
        tags: ['health'],
        security: PUBLIC,
        responses: { 200: json('Up.', HealthStatus) },
      }), (c) =>
      c.json({ status: 'ok' as const }, 200),
    )
    .get(
      '/readyz',
      describeRoute({
        operationId: 'getReadiness',
        summary: 'Readiness: the database answers a query',
        tags: ['health'],
        security: PUBLIC,
        responses: { 200: json('Ready.', HealthStatus), ...errors(503) },
      }),
      async (c) => {
        if (!(await checkDatabase(deps))) return errorResponse(c, 'unavailable');
        return c.json({ status: 'ok' as const }, 200);
      },
    );
}
