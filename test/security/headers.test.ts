import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagePolicy, securityHeaderRecord, securityHeaders } from '../../src/http/security-headers';
import { createTestContext, ORIGIN, type TestContext, type TestResponse } from '../helpers/app';
import { DAY, HOUR, MINUTE } from '../helpers/clock';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

/** The directives of a Content-Security-Policy header, by name. */
function directives(csp: string | null): Map<string, string> {
  expect(csp).toBeTruthy();
  return new Map(
    csp!
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...values] = d.split(/\s+/);
        return [name!, values.join(' ')];
      }),
  );
}

function expectBaseline(res: TestResponse) {
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(directives(res.headers.get('content-security-policy')).get('frame-ancestors')).toBe("'none'");
}

describe('headers on every response', () => {
  it('a JSON success, a 401, a 404, a 400 and a CORS preflight all carry nosniff, no-referrer and no framing', async () => {
    const answers = [
      await t.request('GET', '/healthz'),
      await t.request('GET', '/auth/sessions'),
      await t.request('GET', '/no/such/route'),
      await t.request('POST', '/auth/verify', { body: '{' }),
      await t.request('OPTIONS', '/auth/sessions', { headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 401, 404, 400, 204]);
    for (const res of answers) expectBaseline(res);
  });

  it('an API answer gets a CSP that allows nothing', async () => {
    const res = await t.request('GET', '/healthz');
    expect(directives(res.headers.get('content-security-policy')).get('default-src')).toBe("'none'");
  });

  it('no Strict-Transport-Security with an http ISSUER', async () => {
    const res = await t.request('GET', '/healthz');
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('Strict-Transport-Security with an https ISSUER, on pages and API answers', async () => {
    const https = await createTestContext({ ISSUER: 'https://auth.example.com' }, { database: t.database });
    for (const path of ['/healthz', '/', '/docs', '/nowhere']) {
      const res = await https.request('GET', path);
      expect(res.headers.get('strict-transport-security'), path).toMatch(/^max-age=\d{7,}/);
    }
  });
});

describe('HTML pages', () => {
  it('the demo page: frame-ancestors none, scripts only from this origin, no inline script', async () => {
    const res = await t.request('GET', '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expectBaseline(res);
    const csp = directives(res.headers.get('content-security-policy'));
    expect(csp.get('default-src')).toBe("'none'");
    expect(csp.get('script-src')).toBe("'self'");
    expect(csp.get('connect-src')).toBe("'self'");
    // Every script the page includes is a same-origin file the server serves as JavaScript.
    const html = res.body as string;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, inline] of scripts) {
      expect(inline!.trim()).toBe('');
      const src = /src="([^"]+)"/.exec(attributes!)?.[1];
      expect(src).toMatch(/^\/[^/]/);
      const file = await t.request('GET', src!);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('the docs page: frame-ancestors none and no script at all', async () => {
    const res = await t.request('GET', '/docs');
    expect(res.status).toBe(200);
    expectBaseline(res);
    const csp = directives(res.headers.get('content-security-policy'));
    expect(csp.get('default-src')).toBe("'none'");
    expect(csp.has('script-src')).toBe(false);
    expect(res.body as string).not.toMatch(/<script/i);
  });

  it('any other HTML answer gets the locked policy without asking for it', async () => {
    const app = new Hono()
      .use(securityHeaders({ issuer: 'http://localhost:3000' }))
      .get('/plain', (c) => c.html('<p>hi</p>'))
      .get('/page', pagePolicy({ scriptSrc: ["'self'"] }), (c) => c.html('<p>page</p>'));
    const plain = await app.request('/plain');
    expect(directives(plain.headers.get('content-security-policy'))).toEqual(
      new Map([
        ['default-src', "'none'"],
        ['base-uri', "'none'"],
        ['form-action', "'none'"],
        ['frame-ancestors', "'none'"],
      ]),
    );
    const page = directives((await app.request('/page')).headers.get('content-security-policy'));
    expect(page.get('script-src')).toBe("'self'");
    expect(page.get('frame-ancestors')).toBe("'none'");
  });
});

describe('404', () => {
  it('does not echo the request path or method', async () => {
    const res = await t.request('GET', '/%3Cscript%3Ealert(1)%3C%2Fscript%3E-marker');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/marker|script|GET/i);
  });
});

const cookieOf = (setCookie: string | null) => setCookie!.split(';')[0]!;

describe("CSRF: the server's own origin is ISSUER's", () => {
  it('a cookie-authenticated state change is refused when Origin merely matches the Host the request names', async () => {
    const s = await t.signIn();
    const res = await t.request('DELETE', 'http://evil.example/auth/sessions', {
      headers: { cookie: cookieOf(s.setCookie), origin: 'http://evil.example', host: 'evil.example' },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    expect((await t.request('GET', '/auth/sessions/current', { token: s.token })).status).toBe(200);
  });

  it("a page on ISSUER's origin may change state by cookie, whatever Host the request came in on", async () => {
    const issuer = await createTestContext({ ISSUER: 'https://auth.example.com' }, { database: t.database });
    const s = await issuer.signIn();
    const res = await issuer.request('DELETE', 'http://10.0.0.5:3000/auth/sessions', {
      headers: { cookie: cookieOf(s.setCookie), origin: 'https://auth.example.com' },
    });
    expect(res.status).toBe(204);
    expect((await issuer.request('GET', '/auth/sessions/current', { token: s.token })).status).toBe(401);
  });
});

describe('401 challenges', () => {
  const challenges = (res: TestResponse) => res.headers.get('www-authenticate');

  it('a session route names Bearer in the realm of ISSUER', async () => {
    for (const res of [
      await t.request('GET', '/auth/sessions'),
      await t.request('GET', '/auth/passkeys', { token: 'not.valid' }),
      await t.request('GET', '/activity', { headers: { authorization: 'Digest x' } }),
    ]) {
      expect(res.status).toBe(401);
      expect(challenges(res)).toBe('Bearer realm="http://localhost:3000"');
    }
  });

  it('a failed sign-in (401 invalid_code) carries the challenge too', async () => {
    const res = await t.request('POST', '/auth/sessions', { body: { method: 'otp', email: 'nobody@example.com', token: '000000' } });
    expect(res.status).toBe(401);
    expect(challenges(res)).toBe('Bearer realm="http://localhost:3000"');
  });

  it('the identity routes, new and legacy, name Bearer and Basic', async () => {
    const { identity, token } = (await t.request('POST', '/v1/identity')).body;
    const other = (await t.request('POST', '/v1/identity')).body;
    for (const res of [
      await t.request('POST', '/v1/identity/websocket-token'),
      await t.request('POST', '/identity/websocket_token', { token: 'garbage' }),
      await t.request('GET', `/v1/identity/${identity}/verify`),
      // Refused by the route itself, not the auth middleware: another identity's token.
      await t.request('POST', `/identity/${other.identity}/set-email?email=a@example.com`, { token }),
    ]) {
      expect(res.status).toBe(401);
      expect(challenges(res)).toBe('Bearer realm="http://localhost:3000", Basic realm="http://localhost:3000"');
    }
  });

  it('the realm follows ISSUER; other statuses carry no challenge', async () => {
    const issuer = await createTestContext({ ISSUER: 'https://auth.example.com' }, { database: t.database });
    expect(challenges(await issuer.request('GET', '/auth/sessions'))).toBe('Bearer realm="https://auth.example.com"');
    const s = await issuer.signIn();
    expect(challenges(await issuer.request('GET', '/auth/sessions', { token: s.token }))).toBeNull();
    expect(challenges(await issuer.request('GET', '/nowhere'))).toBeNull();
  });
});

describe('the session cookie follows a sliding session', () => {
  const expiresOf = (setCookie: string) => new Date(/;\s*Expires=([^;]+)/i.exec(setCookie)![1]!).getTime();
  const sessionCookies = (res: TestResponse) => res.headers.getSetCookie().filter((c) => c.startsWith('session='));

  it('is re-sent with the new expiry when a cookie-authenticated request slides the session', async () => {
    const s = await t.signIn();
    const cookie = cookieOf(s.setCookie);
    const first = expiresOf(s.setCookie!);

    // Within the hour nothing slides and nothing is re-sent.
    t.clock.advance(10 * MINUTE);
    expect(sessionCookies(await t.request('GET', '/auth/sessions/current', { headers: { cookie } }))).toEqual([]);

    t.clock.advance(20 * DAY);
    const slid = await t.request('GET', '/auth/sessions/current', { headers: { cookie } });
    expect(slid.status).toBe(200);
    const [resent] = sessionCookies(slid);
    expect(resent).toBeDefined();
    expect(cookieOf(resent!)).toBe(cookie);
    expect(resent).toMatch(/HttpOnly/i);
    expect(resent).toMatch(/SameSite=Lax/i);
    // Expires has whole seconds.
    expect(expiresOf(resent!)).toBe(Math.floor(new Date(slid.body.session.expiresAt).getTime() / 1000) * 1000);
    expect(expiresOf(resent!)).toBeGreaterThan(first + 19 * DAY);

    // Past the first cookie's 30 days the browser still holds a live cookie, and the session answers.
    t.clock.advance(15 * DAY);
    expect((await t.request('GET', '/auth/sessions/current', { headers: { cookie } })).status).toBe(200);
  });

  it('is not sent to a caller that used the Authorization header', async () => {
    const s = await t.signIn();
    t.clock.advance(2 * HOUR);
    const res = await t.request('GET', '/auth/sessions/current', { token: s.token });
    expect(res.status).toBe(200);
    expect(sessionCookies(res)).toEqual([]);
  });

  it('a sign-out that slides the session still only clears the cookie', async () => {
    const s = await t.signIn();
    t.clock.advance(2 * HOUR);
    const res = await t.request('DELETE', '/auth/sessions', { headers: { cookie: cookieOf(s.setCookie), origin: ORIGIN } });
    expect(res.status).toBe(204);
    const cookies = sessionCookies(res);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^session=;/);
  });
});

describe('the fixed headers a runtime writes itself', () => {
  it('are what securityHeaders writes, for an http and an https ISSUER', async () => {
    for (const issuer of ['http://localhost:3000', 'https://auth.example.com']) {
      const app = new Hono().use(securityHeaders({ issuer })).get('/', (c) => c.json({}));
      const written = Object.fromEntries([...(await app.request('/')).headers].filter(([name]) => name !== 'content-type'));
      const record = Object.fromEntries(Object.entries(securityHeaderRecord({ issuer })).map(([name, value]) => [name.toLowerCase(), value]));
      expect(record, issuer).toEqual(written);
    }
  });
});
