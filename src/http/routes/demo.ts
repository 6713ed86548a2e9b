import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import { demoJs, indexHtml, simpleWebAuthnBrowserJs } from '../demo/assets';
import type { AppEnv } from '../env';
import { body, PUBLIC } from '../openapi-docs';
import { pagePolicy } from '../security-headers';

// The page's scripts are files of this origin (no inline script); its styles are one inline <style>.
const policy = pagePolicy({
  scriptSrc: ["'self'"],
  styleSrc: ["'unsafe-inline'"],
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
});

const JAVASCRIPT = { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' };

const page = (operationId: string, summary: string, mediaType: string) =>
  describeRoute({ operationId, summary, tags: ['demo'], security: PUBLIC, responses: { 200: body(summary, mediaType) } });

const docs = {
  index: page('getDemoPage', 'The demo single-page app', 'text/html'),
  script: page('getDemoScript', 'The demo app’s script', 'text/javascript'),
  webauthn: page('getDemoWebAuthnScript', '@simplewebauthn/browser, as the demo app loads it', 'text/javascript'),
};

/** The demo single-page app at `/`: a sample client of the API (src/http/demo/). */
export function demoRoutes() {
  return new Hono<AppEnv>()
    .get('/', docs.index, policy, (c) => c.html(indexHtml, 200, { 'cache-control': 'no-cache' }))
    .get('/demo/demo.js', docs.script, (c) => c.body(demoJs, 200, JAVASCRIPT))
    .get('/demo/simplewebauthn-browser.js', docs.webauthn, (c) => c.body(simpleWebAuthnBrowserJs, 200, JAVASCRIPT));
}
