import { describe, expect, it } from 'vitest';
import { request } from './client';

// The worker builds the app (and with it the OpenAPI document and the docs page) per request,
// and serves the demo page from the bundled assets module: no file system is involved.
describe('documents and pages on Workers', () => {
  it('GET /openapi.json: the whole API as OpenAPI 3.1', async () => {
    const res = await request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.openapi).toMatch(/^3\.1\./);
    expect(res.body.info.title).toBe('Passwordless auth API');
    // One route of every group mounted by createApp.
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/readyz',
        '/openapi.json',
        '/auth/verify',
        '/auth/sessions',
        '/auth/sessions/{id}',
        '/identities/{identityId}',
        '/activity',
        '/admin/users',
        '/v1/identity/{identity}/verify',
        '/identity/websocket_token',
        '/.well-known/jwks.json',
        '/auth/passkeys/authenticate/verify',
      ]),
    );
    expect(res.body.paths['/auth/sessions'].post.requestBody).toBeDefined();
    // The same document on another request (another app instance).
    expect((await request('GET', '/openapi.json')).body).toEqual(res.body);
  });

  it('GET /docs: the reference page', async () => {
    const res = await request('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.body).toContain('/auth/passkeys/register/verify');
  });

  it('GET /: the demo page, its script and the @simplewebauthn/browser bundle', async () => {
    const page = await request('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.body).toContain('<script type="module" src="/demo/demo.js"></script>');

    const script = await request('GET', '/demo/demo.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    const library = await request('GET', '/demo/simplewebauthn-browser.js');
    expect(library.status).toBe(200);
    expect(library.body).toContain('SimpleWebAuthnBrowser');
  });

  it('GET /healthz and /readyz (a query through Hyperdrive) answer 200', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await request('GET', path);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    }
  });
});
