import { zValidator } from '@hono/zod-validator';
import type { Context } from 'hono';
import type { ZodType } from 'zod';
import { errorResponse } from './errors';
import { attachRouteDoc } from './route-docs';

type Target = 'json' | 'query' | 'param';

interface Issue {
  path: PropertyKey[];
  message: string;
  code?: string;
}

function invalid(result: { success: boolean; error?: { issues: Issue[] } }, c: Context): Response | undefined {
  if (result.success || !result.error) return undefined;
  const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message, code: i.code }));
  const first = issues[0];
  const message = first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : 'Invalid request.';
  return errorResponse(c, 'invalid_request', message, { issues });
}

/**
 * zod validation whose failures answer `400 invalid_request` with the zod issues. The schema is
 * attached to the middleware, which is how the OpenAPI document (src/http/openapi.ts) finds it.
 */
export const validate = <T extends Target, S extends ZodType>(target: T, schema: S) =>
  attachRouteDoc(
    zValidator(target, schema, (result, c) => invalid(result as Parameters<typeof invalid>[0], c)),
    { kind: 'validation', target, schema },
  );
