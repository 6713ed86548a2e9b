import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deps } from '../deps';
import { peekCachedSession } from '../domain/sessions/sessions';
import { bearerOrCookie } from '../http/auth';
import { currentSessionBody } from '../http/present';
import { REQUEST_ID_HEADER, requestIdFor, requestLogFields } from '../http/request-log';

const PATH = '/auth/sessions/current';
/** A Host header @hono/node-server takes as it is (its own test); any other goes through the app, which may refuse it. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/**
 * `GET /auth/sessions/current` answered by Node's listener, before the app, when the session
 * cache answers it alone: the request every client polls, and the one a hot session sends most.
 * It answers only what the app would answer the same way, from the same parts:
 *
 * - exactly `GET /auth/sessions/current`, no query string, a plain Host header, no `Origin` (a
 *   CORS answer has more headers), and a Bearer or cookie credential read as `readCredential`
 *   reads it;
 * - a session that `peekCachedSession` finds live in the cache, with the right secret and not
 *   due to slide (so no write, no cookie to re-send); revocations reach the cache as they reach
 *   the app's check, which trusts the same entries;
 * - the body of `currentSessionBody`, the request id of `requestIdFor`, the fixed headers the
 *   listener writes on every answer, and the log line of `requestLog`.
 *
 * Everything else (no entry, a wrong secret, a miss of any kind) returns false and the app
 * answers, reading the database as it always does. test/node-session-check.test.ts holds the
 * answers of both paths equal and checks which path answered what; test/node-server.test.ts
 * does the same against the real process.
 */
export function cachedSessionCheck(deps: Pick<Deps, 'clock' | 'sessionCache' | 'hasher' | 'random' | 'config' | 'log'>) {
  return (incoming: IncomingMessage, outgoing: ServerResponse): boolean => {
    if (incoming.method !== 'GET' || incoming.url !== PATH) return false;
    const headers = incoming.headers;
    if (headers.origin !== undefined || headers.host === undefined || !PLAIN_HOST.test(headers.host)) return false;
    const started = performance.now();
    let body: string;
    let requestId: string;
    try {
      const credential = bearerOrCookie(headers.authorization, () => headers.cookie);
      if (credential === null || typeof credential === 'string') return false;
      const auth = peekCachedSession(deps, credential.token);
      if (!auth) return false;
      body = currentSessionBody(deps.config, auth.session, auth.user);
      const incomingId = headers[REQUEST_ID_HEADER];
      requestId = requestIdFor(typeof incomingId === 'string' ? incomingId : undefined, deps.random);
    } catch {
      // Whatever went wrong, the app answers it, with its error handling.
      return false;
    }
    outgoing.setHeader(REQUEST_ID_HEADER, requestId);
    outgoing.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    outgoing.end(body);
    deps.log.log('info', 'request', requestLogFields(requestId, 'GET', PATH, 200, started));
    return true;
  };
}
