import type { Server, ServerResponse } from 'node:http';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createApp, fixedResponseHeaders } from '../app';
import type { Deps } from '../deps';
import { listen } from './node-http';
import { cachedAnswers } from './node-cached-answers';

/** The app as the Node server runs it: the options that say what Node's listener does for it. */
export function createNodeApp(deps: Deps) {
  const config = deps.config;
  return createApp(deps, {
    // Node's HTTP/1.1 server: a body comes with Content-Length or Transfer-Encoding, or not at all.
    unframedBodyIsEmpty: true,
    // Written by the listener on every answer, more cheaply than through the app's `Headers`.
    fixedHeadersWritten: true,
    // @hono/node-server hands the app Node's response object as `c.env.outgoing`.
    presetHeader: (c, name, value) => (c.env as { outgoing: ServerResponse }).outgoing.setHeader(name, value),
    clientIp: (c) => {
      const forwarded = config.trustProxy ? c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined;
      return forwarded || (getConnInfo(c).remote.address ?? null);
    },
  });
}

/**
 * Serves the app on host:port as the Node server does: the fixed headers set on every answer by
 * the listener, and the requests the session cache decides alone answered before the app
 * (src/entry/node-cached-answers.ts).
 */
export function listenNodeApp(deps: Deps, app: ReturnType<typeof createNodeApp>, at: { host: string; port: number }): Promise<{ server: Server; url: string }> {
  const headers = fixedResponseHeaders(deps.config);
  return listen(app.fetch, { ...at, log: deps.log, headers, answerFirst: cachedAnswers(deps, headers) });
}
