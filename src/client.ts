import { hc, type ClientRequestOptions } from 'hono/client';
import type { App } from './app';

/**
 * A typed client for this API, for single-page apps: every route, body and answer is typed from
 * the server's own routes. Requests carry cookies (`credentials: 'include'`) unless `init` says
 * otherwise, so a cookie session works; pass `headers: { authorization: 'Bearer …' }` to use a token.
 *
 * ```ts
 * const api = createClient('https://auth.example.com');
 * await api.auth.verify.$post({ json: { email } });
 * ```
 */
export function createClient(baseUrl: string, options: ClientRequestOptions = {}) {
  return hc<App>(baseUrl, { ...options, init: { credentials: 'include', ...options.init } });
}

export type Client = ReturnType<typeof createClient>;
export type { App };
