import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Deps } from '../deps';
import { peekCachedSession, type SessionAuth } from '../domain/sessions/sessions';
import { mintWebsocketToken } from '../domain/spacetime/tokens';
import { bearerOrCookie } from '../http/auth';
import { currentSessionBody } from '../http/present';
import { REQUEST_ID_HEADER, requestIdFor, requestLogFields } from '../http/request-log';

const SESSION_PATH = '/auth/sessions/current';
/** Both names of the route: SpacetimeDB's current one and its pre-1.0 one. */
const WEBSOCKET_TOKEN_PATHS = new Set(['/v1/identity/websocket-token', '/identity/websocket_token']);
/** A Host header @hono/node-server takes as it is (its own test); any other goes through the app, which may refuse it. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

type AnswerDeps = Pick<Deps, 'clock' | 'sessionCache' | 'hasher' | 'random' | 'config' | 'log' | 'db' | 'signer'>;

/**
 * The two requests a hot session sends most, answered by Node's listener before the app when the
 * session cache decides them alone:
 *
 * - `GET /auth/sessions/current`, which every client polls, by Bearer token or session cookie;
 * - `POST /v1/identity/websocket-token` (and `/identity/websocket_token`), which a SpacetimeDB
 *   client sends before every WebSocket connection, by Bearer token and without a body.
 *
 * It answers only what the app would answer the same way, from the same parts:
 *
 * - exactly that method and path, no query string, a plain Host header, no `Origin` (a CORS
 *   answer has more headers), and the credential read as `readCredential` reads it. A state
 *   change by cookie (the token route) is left to the app and its CSRF rule, as is an identity
 *   token (a JWT), which `peekCachedSession` never takes for a session;
 * - a session that `peekCachedSession` finds live in the cache, with the right secret and not
 *   due to slide (so no write, no cookie to re-send); revocations reach the cache as they reach
 *   the app's check, which trusts the same entries;
 * - the body of `currentSessionBody`, or the token of `mintWebsocketToken`; the request id of
 *   `requestIdFor`, the fixed headers the listener writes on every answer (given here, and
 *   written with the answer's own in one `writeHead`), and the log line of `requestLog`.
 *
 * Everything else (no entry, a wrong secret, a miss of any kind) returns false and the app
 * answers, reading the database as it always does; so does a token that fails to be minted,
 * which the app then answers with its own error handling (the request has no body to have read).
 * test/node-cached-answers.test.ts holds the answers of both paths equal and checks which path
 * answered what; test/node-server.test.ts does the same against the real process.
 */
export function cachedAnswers(deps: AnswerDeps, fixedHeaders: Record<string, string>) {
  // Written with each answer's own in one `writeHead`: no `setHeader` (and its bookkeeping) per header.
  const answer: Answer = { deps, fixedHeaders: Object.entries(fixedHeaders).flat() };
  return (incoming: IncomingMessage, outgoing: ServerResponse, app: RequestListener): boolean => {
    const { method, url, headers } = incoming;
    if (method === 'GET' && url === SESSION_PATH) return answerSessionCheck(answer, headers, outgoing);
    if (method === 'POST' && url !== undefined && WEBSOCKET_TOKEN_PATHS.has(url)) return answerWebsocketToken(answer, incoming, outgoing, app);
    return false;
  };
}

interface Answer {
  deps: AnswerDeps;
  /** The listener's fixed headers, as names and values in turn. */
  fixedHeaders: string[];
}

/**
 * The live cached session of a request the listener may answer, and the request id of its
 * answer; null for anything else, a throw included (the app then answers it, with its error
 * handling). `cookie`: whether the session cookie counts as a credential.
 */
function cachedRequest(deps: AnswerDeps, headers: IncomingHttpHeaders, cookie: boolean): { auth: SessionAuth; requestId: string } | null {
  if (headers.origin !== undefined || headers.host === undefined || !PLAIN_HOST.test(headers.host)) return null;
  try {
    const credential = bearerOrCookie(headers.authorization, () => (cookie ? headers.cookie : undefined));
    if (credential === null || typeof credential === 'string') return null;
    const auth = peekCachedSession(deps, credential.token);
    if (!auth) return null;
    const incomingId = headers[REQUEST_ID_HEADER];
    return { auth, requestId: requestIdFor(typeof incomingId === 'string' ? incomingId : undefined, deps.random) };
  } catch {
    return null;
  }
}

function answerJson(answer: Answer, outgoing: ServerResponse, requestId: string, method: string, path: string, body: string, started: number): void {
  outgoing.writeHead(200, answer.fixedHeaders.concat('Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(body)), REQUEST_ID_HEADER, requestId));
  outgoing.end(body);
  answer.deps.log.log('info', 'request', requestLogFields(requestId, method, path, 200, started));
}

function answerSessionCheck(answer: Answer, headers: IncomingHttpHeaders, outgoing: ServerResponse): boolean {
  const started = performance.now();
  const deps = answer.deps;
  const cached = cachedRequest(deps, headers, true);
  if (!cached) return false;
  let body: string;
  try {
    body = currentSessionBody(deps.config, cached.auth.session, cached.auth.user);
  } catch {
    // Whatever went wrong, the app answers it, with its error handling.
    return false;
  }
  answerJson(answer, outgoing, cached.requestId, 'GET', SESSION_PATH, body, started);
  return true;
}

function answerWebsocketToken(answer: Answer, incoming: IncomingMessage, outgoing: ServerResponse, app: RequestListener): boolean {
  const started = performance.now();
  const deps = answer.deps;
  const headers = incoming.headers;
  // A body (framed by either header) is the app's to read and limit.
  if (headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0')) return false;
  const cached = cachedRequest(deps, headers, false);
  if (!cached) return false;
  const { auth, requestId } = cached;
  const path = incoming.url!;
  mintWebsocketToken(deps, { user: auth.user, claims: null })
    .then(
      (result) => {
        if (!result.ok) return void app(incoming, outgoing);
        answerJson(answer, outgoing, requestId, 'POST', path, JSON.stringify({ token: result.token }), started);
      },
      () => void app(incoming, outgoing),
    )
    // Writing the answer failed (the connection is gone, say): logged, never an unhandled rejection.
    .catch((error: unknown) => deps.log.log('error', 'unhandled error', { error: String(error) }));
  return true;
}
