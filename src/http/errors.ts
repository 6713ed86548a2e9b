import type { Context, ErrorHandler, NotFoundHandler, TypedResponse } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ClientErrorStatusCode, ContentfulStatusCode, ServerErrorStatusCode } from 'hono/utils/http-status';
import type { ErrorCode, Failure } from '../domain/result';
import type { Logger } from '../ports/logger';

type HttpErrorCode = ErrorCode | 'payload_too_large' | 'unavailable' | 'internal_error';

/** The one map from error code to HTTP status. */
const STATUS: Record<HttpErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  invalid_passkey: 400,
  identity_limit: 400,
  handle_taken: 400,
  primary_identity: 400,
  last_identity: 400,
  database_limit: 400,
  passkey_limit: 400,
  key_in_use: 400,
  unauthorized: 401,
  invalid_code: 401,
  forbidden: 403,
  email_taken: 409,
  reauthentication_required: 403,
  not_found: 404,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
};

const DEFAULT_MESSAGE: Partial<Record<HttpErrorCode, string>> = {
  unauthorized: 'Missing, malformed, expired or revoked credentials.',
  forbidden: 'Not allowed.',
  not_found: 'Not found.',
  payload_too_large: 'The request body is larger than 64 KiB.',
  unavailable: 'The database cannot be reached; try again shortly.',
  internal_error: 'Something went wrong on our side.',
};

/** The contract's error body, as typed clients (`hc`) see it. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; message: string; code?: string }[] };
}

/** Typed with a 4xx/5xx status so that a client narrowing on a success status gets the success body. */
export type ErrorResponse = Response & TypedResponse<ErrorBody, ClientErrorStatusCode | ServerErrorStatusCode, 'json'>;

export function errorResponse(
  c: Context,
  code: HttpErrorCode,
  message?: string,
  extra?: { issues?: unknown[]; retryAfter?: number },
): ErrorResponse {
  if (extra?.retryAfter !== undefined) c.header('Retry-After', String(extra.retryAfter));
  if (STATUS[code] === 401) {
    // Set for the whole app by `challengeWith` (src/http/auth.ts); a bare app falls back to Bearer.
    for (const challenge of (c.get('challenges') as readonly string[] | undefined) ?? ['Bearer']) {
      c.header('WWW-Authenticate', challenge, { append: true });
    }
  }
  const body: Record<string, unknown> = { code, message: message ?? DEFAULT_MESSAGE[code] ?? code.replace(/_/g, ' ') };
  if (extra?.issues) body.issues = extra.issues;
  return c.json({ error: body }, STATUS[code]) as unknown as ErrorResponse;
}

/** Turns a domain failure into the contract's error response. */
export function failure(c: Context, result: Failure): ErrorResponse {
  return errorResponse(c, result.code, result.message, { retryAfter: result.retryAfter });
}

// The body does not echo the path: a reflected path is a foothold for content injection.
export const notFound: NotFoundHandler = (c) => errorResponse(c, 'not_found', 'No such route.');

export function createErrorHandler(log: Logger): ErrorHandler {
  return (error, c) => {
    if (error instanceof HTTPException) {
      if (error.status === 413) return errorResponse(c, 'payload_too_large');
      if (error.status === 400) {
        // Hono's JSON validator throws this for a body that does not parse.
        const message = error.message || 'Malformed request.';
        return errorResponse(c, 'invalid_request', message, { issues: [{ path: '', message, code: 'invalid_json' }] });
      }
      if (error.status === 401) return errorResponse(c, 'unauthorized');
      return errorResponse(c, error.status >= 500 ? 'internal_error' : 'invalid_request', error.message);
    }
    if (c.req.raw.signal.aborted) {
      // The client went away mid-request (often while its body was being read): nobody reads this answer.
      log.log('info', 'request aborted by the client', { error: describe(error) });
      return errorResponse(c, 'invalid_request', 'The request was aborted.');
    }
    if (sqlState(error)?.startsWith('22')) {
      // PostgreSQL's "data exception" class: a value the request carried cannot be stored or compared.
      return errorResponse(c, 'invalid_request', 'A value in the request is not valid.');
    }
    if (sqlState(error) === '23503') {
      // A foreign key broke under a row this request stood on: the account (or session) was
      // deleted while the request ran. Its credential is no good any more.
      log.log('info', 'request outlived its account', { error: describe(error) });
      return errorResponse(c, 'unauthorized', 'The account or session behind this request no longer exists.');
    }
    if (isDatabaseUnavailable(error)) {
      log.log('warn', 'database unavailable', { error: describe(error) });
      return errorResponse(c, 'unavailable');
    }
    log.log('error', 'unhandled error', { error: describe(error), stack: error instanceof Error ? error.stack : undefined });
    return errorResponse(c, 'internal_error');
  };
}

// Connection failures from postgres.js / Node, and PostgreSQL's "can't serve you now" states.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/** The error and the ones it wraps (drizzle wraps the driver's error in `cause`). */
function* causes(error: unknown): Generator<unknown> {
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) yield e;
}

/** The PostgreSQL SQLSTATE of a query error (postgres.js and PGlite both call it `code`). */
function sqlState(error: unknown): string | undefined {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** True when the error (or one it wraps) says the database is unreachable, not that a query is wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
    if (e instanceof Error && /PGlite is closed|write CONNECTION_CLOSED|connection terminated/i.test(e.message)) return true;
  }
  return false;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.name}: ${error.message.split('\n')[0]}${cause}`;
}
