import { zValidator } from '@hono/zod-validator';
import type { Context } from 'hono';
import { resolver, uniqueSymbol, type HandlerUniqueProperty } from 'hono-openapi';
import type { ZodType } from 'zod';
import { errorResponse } from './errors';

type Target = 'json' | 'query' | 'param';

interface Issue {
  path: PropertyKey[];
  message: string;
  code?: string;
}

type Result = { success: true; data: unknown } | { success: false; error: { issues: Issue[] } };

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

interface Visit {
  value: unknown;
  key: string;
  parent: Visit | undefined;
}

/**
 * Paths of the strings holding a NUL character, which PostgreSQL cannot store in `text`. The walk
 * keeps its own stack: a 64 KiB body can nest arrays 30,000 deep, past the call stack's reach.
 */
function nulPaths(value: unknown): string[] {
  const found: string[] = [];
  const stack: Visit[] = [{ value, key: '', parent: undefined }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    if (typeof visit.value === 'string') {
      if (visit.value.includes('\0')) found.push(pathOf(visit));
    } else if (visit.value && typeof visit.value === 'object') {
      for (const [key, item] of Object.entries(visit.value).reverse()) stack.push({ value: item, key, parent: visit });
    }
  }
  return found;
}

function pathOf(visit: Visit): string {
  const keys: string[] = [];
  for (let v: Visit | undefined = visit; v?.parent; v = v.parent) keys.push(v.key);
  return keys.reverse().join('.');
}

function refuse(c: Context, issues: { path: string; message: string; code?: string }[]): Response {
  const first = issues[0];
  const message = first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : 'Invalid request.';
  return errorResponse(c, 'invalid_request', message, { issues });
}

function invalid(result: Result, c: Context): Response | undefined {
  if (!result.success) {
    return refuse(c, result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message, code: i.code })));
  }
  const paths = nulPaths(result.data);
  if (paths.length > 0) return refuse(c, paths.map((path) => ({ path, message: 'must not contain NUL characters', code: 'invalid_format' })));
  return undefined;
}

/**
 * True when a body comes with another Content-Type than JSON. A POST without a body stays valid
 * for the routes whose body is optional. (The body is read, within the app's 64 KiB limit, because
 * a Content-Length header is not always there to say whether one came.)
 */
async function nonJsonBody(c: Context): Promise<boolean> {
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
  if (JSON_MEDIA_TYPE.test(mediaType)) return false;
  return (await c.req.text()).length > 0;
}

/**
 * zod validation whose failures answer `400 invalid_request` with the zod issues; strings holding
 * NUL characters are refused the same way. The schema rides on the middleware the way hono-openapi's
 * own `validator()` carries it, so the OpenAPI document describes the request from it.
 */
export const validate = <T extends Target, S extends ZodType>(target: T, schema: S) => {
  const check = zValidator(target, schema, (result, c) => invalid(result as Result, c));
  const handler = (async (c, next) => {
    if (target === 'json' && (await nonJsonBody(c))) {
      return refuse(c, [{ path: '', message: 'The request body must be JSON, sent with Content-Type: application/json.', code: 'invalid_content_type' }]);
    }
    return check(c, next);
  }) as typeof check;
  const documentation: HandlerUniqueProperty = { target, ...resolver(schema) };
  return Object.assign(handler, { [uniqueSymbol]: documentation }) as typeof check & { [uniqueSymbol]: HandlerUniqueProperty };
};
