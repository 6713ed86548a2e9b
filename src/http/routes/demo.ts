import { Hono } from 'hono';
import { demoJs, indexHtml, simpleWebAuthnBrowserJs } from '../demo/assets';
import type { AppEnv } from '../env';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const JAVASCRIPT = { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' };

/** The demo single-page app at `/`: a sample client of the API (src/http/demo/). */
export function demoRoutes() {
  return new Hono<AppEnv>()
    .get('/', (c) => c.html(indexHtml, 200, { 'content-security-policy': CSP, 'cache-control': 'no-cache' }))
    .get('/demo/demo.js', (c) => c.body(demoJs, 200, JAVASCRIPT))
    .get('/demo/simplewebauthn-browser.js', (c) => c.body(simpleWebAuthnBrowserJs, 200, JAVASCRIPT));
}
