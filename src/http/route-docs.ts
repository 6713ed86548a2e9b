import type { MiddlewareHandler } from 'hono';
import type { ZodType } from 'zod';

/** Where `validate()` reads its input from; each becomes a part of the OpenAPI operation. */
export type ValidationTarget = 'json' | 'query' | 'param' | 'header' | 'cookie' | 'form';

export interface ValidationDoc {
  kind: 'validation';
  target: ValidationTarget;
  schema: ZodType;
}

export type ResponseDoc = string | { description: string; schema?: Record<string, unknown> };

export interface OperationDoc {
  kind: 'operation';
  summary?: string;
  description?: string;
  tags?: string[];
  /** Documented answers by status, e.g. `{ 201: 'Signed in', 429: 'Too many codes' }`. */
  responses?: Record<number, ResponseDoc>;
  deprecated?: boolean;
  /** Credentials the route accepts, when its auth middleware is not one marked with `documentSecurity`; `[]` for none. */
  security?: SecurityScheme[];
}

export interface SecurityDoc {
  kind: 'security';
  /** Credential kinds the route accepts; all three by default (bearer, basic, cookie). */
  schemes: SecurityScheme[];
}

export type SecurityScheme = 'bearer' | 'basic' | 'cookie';
export type RouteDoc = ValidationDoc | OperationDoc | SecurityDoc;

/*
 * Route documentation rides on the middleware functions themselves: `validate()`, `describe()`
 * and the auth middleware register here, and the OpenAPI builder reads it back from
 * `app.routes`. A route is documented by being written, with nothing to register by hand.
 */
const docs = new WeakMap<object, RouteDoc>();

export function attachRouteDoc<H extends object>(handler: H, doc: RouteDoc): H {
  docs.set(handler, doc);
  return handler;
}

// Hono wraps a sub-app's handlers when that sub-app has its own error handler; the original stays reachable.
const COMPOSED_HANDLER = '__COMPOSED_HANDLER';

/** The documentation attached to a route entry's handler, if any. */
export function routeDocOf(handler: unknown): RouteDoc | undefined {
  for (let h = handler, depth = 0; h && depth < 4; h = (h as Record<string, unknown>)[COMPOSED_HANDLER], depth++) {
    const doc = docs.get(h as object);
    if (doc) return doc;
  }
  return undefined;
}

/**
 * Documents a route for the OpenAPI document: `.post('/', describe({ summary, responses }), …)`.
 * It does nothing at request time; a route without it is still documented from its validators.
 */
export function describe(doc: Omit<OperationDoc, 'kind'>): MiddlewareHandler {
  return attachRouteDoc<MiddlewareHandler>((_c, next) => next(), { kind: 'operation', ...doc });
}

/** Marks an auth middleware so that the routes using it document their credentials. */
export function documentSecurity<H extends object>(handler: H, schemes: SecurityScheme[] = ['bearer', 'basic', 'cookie']): H {
  return attachRouteDoc(handler, { kind: 'security', schemes });
}
