import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from '../ports/logger';

const errorBody = (code: string, message: string) => JSON.stringify({ error: { code, message } });

/** What the app's secure-headers middleware puts on every answer, for the answers given without the app. */
const SAFE_HEADERS = {
  'content-type': 'application/json',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * @hono/node-server refuses a request it cannot turn into a URL (a bad or missing Host header, a
 * backslash in the path) before the app sees it; this gives that refusal the contract's body.
 */
function malformedRequest(log: Logger) {
  return (error: unknown): Response => {
    const requestError = error instanceof Error && error.name === 'RequestError';
    if (!requestError) log.log('error', 'unhandled error', { error: String(error) });
    const body = requestError
      ? errorBody('invalid_request', `Malformed request: ${error.message}.`)
      : errorBody('internal_error', 'Something went wrong on our side.');
    return new Response(body, { status: requestError ? 400 : 500, headers: SAFE_HEADERS });
  };
}

/**
 * Node's HTTP parser refuses some requests before any handler runs (an unknown method, both
 * Content-Length and Transfer-Encoding, headers over its limit); its own answer has no body.
 */
function answerParserError(error: NodeJS.ErrnoException, socket: NodeJS.WritableStream & { writable: boolean }): void {
  if (error.code === 'ECONNRESET' || !socket.writable) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['431 Request Header Fields Too Large', 'The request headers are too large.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['408 Request Timeout', 'The request took too long to arrive.']
        : ['400 Bad Request', 'Malformed HTTP request.'];
  const body = errorBody('invalid_request', message);
  const headers = Object.entries(SAFE_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status}\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Serves `fetch` on host:port. Resolves once listening; rejects with one line naming PORT or HOST
 * when it cannot listen (the port is taken, the host is not an address of this machine).
 */
export function listen(
  fetch: (request: Request, env: unknown) => Response | Promise<Response>,
  options: {
    host: string;
    port: number;
    log: Logger;
    headers?: Record<string, string>;
    /**
     * Takes a request before the app when it can answer it (returns true), and then writes all
     * of its answer's headers itself, the fixed ones included; one it took and then cannot
     * answer it hands to `app`, which sets the fixed headers as for any request.
     */
    answerFirst?: (incoming: IncomingMessage, outgoing: ServerResponse, app: RequestListener) => boolean;
  },
): Promise<{ server: Server; url: string }> {
  const { host, port, log } = options;
  const handle = getRequestListener(fetch, { errorHandler: malformedRequest(log) });
  // Set on the Node response before the app runs: the headers the adapter writes from the
  // app's answer are set over them, so a route's own header of the same name wins.
  const fixed = Object.entries(options.headers ?? {});
  const toApp: RequestListener = (incoming, outgoing) => {
    for (const [name, value] of fixed) outgoing.setHeader(name, value);
    return handle(incoming, outgoing);
  };
  const answerFirst = options.answerFirst;
  const listener: RequestListener = answerFirst
    ? (incoming, outgoing) => {
        if (!answerFirst(incoming, outgoing, toApp)) toApp(incoming, outgoing);
      }
    : toApp;
  // Node's own refusal of a request without Host has no body; the listener's has the contract's.
  const server = createServer({ requireHostHeader: false }, listener);
  server.on('clientError', answerParserError);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `PORT: ${port} is already in use on ${host}`
            : `HOST: cannot listen on ${host}:${port} (${error.code ?? error.message})`,
        ),
      );
    });
    server.listen(port, host, () => {
      const info = server.address() as AddressInfo;
      resolve({ server, url: `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}` });
    });
  });
}

/**
 * Stops `server` gracefully: it stops accepting at once, lets requests in flight finish, and
 * closes keep-alive connections as they fall idle. Connections still busy at the deadline are cut.
 * Resolves with how many were cut.
 */
export function stopServer(server: Server, deadlineMs: number): Promise<{ cut: number }> {
  return new Promise((resolve) => {
    let cut = 0;
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => {
      server.getConnections((_error, count) => (cut = count));
      server.closeAllConnections();
    }, deadlineMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(deadline);
      resolve({ cut });
    });
    server.closeIdleConnections();
  });
}
