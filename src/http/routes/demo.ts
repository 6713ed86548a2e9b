import { Hono } from 'hono';
import { demoJs, indexHtml, simpleWebAuthnBrowserJs } from '../demo/assets';
import type { AppEnv } from '../env';
import { pagePolicy } from '../security-headers';

// The page's scripts are files of this origin (no inline script); its styles are one inline <style>.
const policy = pagePolicy({
  scriptSrc: ["'self'"],
  styleSrc: ["'unsafe-inline'"],
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
});

const JAVASCRIPT = { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' };

/** The demo single-page app at `/`: a sample client of the API (src/http/demo/). */
export function demoRoutes() {
  return new Hono<AppEnv>()
    .get('/', policy, (c) => c.html(indexHtml, 200, { 'cache-control': 'no-cache' }))
    .get('/demo/demo.js', (c) => c.body(demoJs, 200, JAVASCRIPT))
    .get('/demo/simplewebauthn-browser.js', (c) => c.body(simpleWebAuthnBrowserJs, 200, JAVASCRIPT));
}
