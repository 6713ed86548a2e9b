import { Hono } from 'hono';
import { html } from 'hono/html';
import { describeRoute } from 'hono-openapi';
import { DEMO_CLIENT_ID, type Config } from '../../config';
import { demoJs, indexHtml, oidcHtml, oidcJs, simpleWebAuthnBrowserJs } from '../demo/assets';
import type { AppEnv } from '../env';
import { body, PUBLIC } from '../openapi-docs';
import { pagePolicy } from '../security-headers';

// The pages' scripts are files of this origin (no inline script); their styles are one inline <style>.
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
  oidc: page('getDemoOidcPage', 'The OpenID Connect example page (oidc-client-ts against this server); also its redirect URI', 'text/html'),
  oidcScript: page('getDemoOidcScript', 'The OpenID Connect example page’s script, bundled with oidc-client-ts and jose', 'text/javascript'),
};

/**
 * The demo single-page app at `/`: a sample client of the API (src/http/demo/); and at
 * `/demo/oidc` a sample OpenID Connect client of this server, with the `demo` client when the
 * configuration has one (else the page says how to register it).
 */
export function demoRoutes(config: Pick<Config, 'oidcClients' | 'issuer'>) {
  const clientId = config.oidcClients.some((client) => client.id === DEMO_CLIENT_ID) ? DEMO_CLIENT_ID : '';
  // The provider is ISSUER exactly as configured: the id_token's `iss` is compared with it.
  // A function, not a replacement string: `$&` or `$'` in the issuer must stay as written.
  const oidcPage = oidcHtml.replace('<html lang="en">', () => String(html`<html lang="en" data-issuer="${config.issuer}" data-client-id="${clientId}">`));
  return new Hono<AppEnv>()
    .get('/', docs.index, policy, (c) => c.html(indexHtml, 200, { 'cache-control': 'no-cache' }))
    .get('/demo/demo.js', docs.script, (c) => c.body(demoJs, 200, JAVASCRIPT))
    .get('/demo/simplewebauthn-browser.js', docs.webauthn, (c) => c.body(simpleWebAuthnBrowserJs, 200, JAVASCRIPT))
    .get('/demo/oidc', docs.oidc, policy, (c) => c.html(oidcPage, 200, { 'cache-control': 'no-cache' }))
    .get('/demo/oidc.js', docs.oidcScript, (c) => c.body(oidcJs, 200, JAVASCRIPT));
}
