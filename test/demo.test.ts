import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetsModulePath, renderAssetsModule } from '../scripts/build-demo';
import { createTestContext, type TestContext } from './helpers/app';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

describe('demo page', () => {
  it('serves the page with a strict content security policy', async () => {
    const res = await t.request('GET', '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.body).toContain('<script type="module" src="/demo/demo.js"></script>');
  });

  it('serves its script and the @simplewebauthn/browser bundle', async () => {
    const script = await t.request('GET', '/demo/demo.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.body).toContain("credentials: 'include'");
    const library = await t.request('GET', '/demo/simplewebauthn-browser.js');
    expect(library.status).toBe(200);
    expect(library.body).toContain('SimpleWebAuthnBrowser');
  });

  it('is built from the current sources (run `npm run build:demo` after editing them)', () => {
    expect(readFileSync(assetsModulePath, 'utf8')).toBe(renderAssetsModule());
  });
});
