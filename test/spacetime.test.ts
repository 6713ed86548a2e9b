import { eq } from 'drizzle-orm';
import { decodeJwt, decodeProtectedHeader, importJWK, importSPKI, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityDatabases, users } from '../src/db/schema';
import { computeIdentity } from '../src/domain/spacetime/identity';
import { createTestContext, ORIGIN, uniqueEmail, type TestContext } from './helpers/app';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext({ ISSUER: 'https://auth.example.com' });
});
afterAll(() => t.close());

const ISSUER = 'https://auth.example.com';
const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`token:${token}`).toString('base64')}` });

/** A fresh anonymous account through the API. */
async function newIdentity(path = '/v1/identity'): Promise<{ identity: string; token: string }> {
  const res = await t.request('POST', path);
  expect(res.status).toBe(200);
  return res.body;
}

describe('identity rule', () => {
  it("matches SpacetimeDB's own test vector", () => {
    expect(computeIdentity('example.com', '123')).toBe('c200ef884364c1a99be0298dc68f2004e6b97c09d1b1658b7db22f51fb662059');
  });

  it('uses the issuer exactly as given', () => {
    expect(computeIdentity('https://x/', '1')).not.toBe(computeIdentity('https://x', '1'));
  });
});

describe('POST /v1/identity', () => {
  it('creates an anonymous account and answers its identity and a long-lived ES256 token', async () => {
    const { identity, token } = await newIdentity();
    expect(identity).toMatch(/^c200[0-9a-f]{60}$/);

    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: expect.any(String) });
    const claims = decodeJwt(token);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'hex_identity', 'iat', 'iss', 'sub']);
    expect(claims).toEqual({
      hex_identity: identity,
      sub: expect.any(String),
      iss: ISSUER,
      aud: ['spacetimedb'],
      iat: Math.floor(t.clock.now().getTime() / 1000),
    });

    const [row] = await t.db.select().from(users).where(eq(users.id, claims.sub!));
    expect(row).toMatchObject({ identity, email: null, unverifiedEmail: null });
  });

  it('validates the way SpacetimeDB does: discovery, JWKS by kid, ES256, identity from iss|sub', async () => {
    const { identity, token } = await newIdentity();
    const claims = decodeJwt(token);
    const iss = claims.iss!;

    // SpacetimeDB fetches {iss}/.well-known/openid-configuration; here through the app itself.
    const discovery = await t.request('GET', `${new URL(iss).pathname.replace(/\/$/, '')}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(discovery.body).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ['ES256'],
      subject_types_supported: ['public'],
      response_types_supported: expect.any(Array),
    });

    const jwksUrl = new URL(discovery.body.jwks_uri);
    expect(jwksUrl.origin).toBe(new URL(iss).origin);
    const jwks = await t.request('GET', jwksUrl.pathname);
    expect(jwks.status).toBe(200);
    for (const jwk of jwks.body.keys as JWK[]) {
      expect(jwk).toMatchObject({ kid: expect.any(String), alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
      expect(jwk).not.toHaveProperty('d');
    }
    const { kid } = decodeProtectedHeader(token);
    const jwk = (jwks.body.keys as JWK[]).find((k) => k.kid === kid);
    expect(jwk).toBeDefined();

    const { payload } = await jwtVerify(token, await importJWK(jwk!, 'ES256'), { algorithms: ['ES256'] });
    for (const claim of [payload.sub!, payload.iss!]) {
      expect(claim.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(claim)).toBeLessThanOrEqual(128);
    }
    expect(Number.isInteger(payload.iat)).toBe(true);
    expect(payload.aud).toEqual(['spacetimedb']);
    const computed = computeIdentity(payload.iss!, payload.sub!);
    expect(payload.hex_identity).toBe(computed);
    expect(computed).toBe(identity);
  });

  it('serves the same key as an SPKI PEM at /v1/identity/public-key', async () => {
    const { token } = await newIdentity();
    const res = await t.app.request('/v1/identity/public-key');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pem-certificate-chain');
    const pem = await res.text();
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/);
    await expect(jwtVerify(token, await importSPKI(pem, 'ES256'))).resolves.toBeDefined();
  });

  it('limits how many accounts one address creates', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.77' };
    for (let i = 0; i < 100; i++) expect((await t.request('POST', '/v1/identity', { headers })).status).toBe(200);
    const limited = await t.request('POST', '/v1/identity', { headers });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await t.request('POST', '/v1/identity', { headers: { 'x-forwarded-for': '203.0.113.78' } })).status).toBe(200);
  });
});

describe('websocket tokens', () => {
  it('a code-signed-in user gets a JWT for the account’s own identity with the session token', async () => {
    const { token: session, user } = await t.signIn();
    const res = await t.request('POST', '/v1/identity/websocket-token', { token: session });
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.body.token);
    const now = Math.floor(t.clock.now().getTime() / 1000);
    expect(claims).toMatchObject({ hex_identity: user.identity, sub: user.id, iss: ISSUER, aud: ['spacetimedb'], iat: now, exp: now + 60 });
    expect(computeIdentity(claims.iss!, claims.sub!)).toBe(user.identity);
    expect(decodeProtectedHeader(res.body.token)).toMatchObject({ alg: 'ES256', typ: 'JWT' });

    const verify = await t.request('GET', `/v1/identity/${user.identity}/verify`, { token: res.body.token });
    expect(verify.status).toBe(204);
  });

  it('re-signs an identity token’s claims for 60 seconds, on both routes and with Basic', async () => {
    const { identity, token } = await newIdentity();
    const long = decodeJwt(token);
    t.clock.advance(5_000);
    for (const [path, headers] of [
      ['/v1/identity/websocket-token', { authorization: `Bearer ${token}` }],
      ['/identity/websocket_token', basic(token)],
    ] as const) {
      const res = await t.request('POST', path, { headers });
      expect(res.status).toBe(200);
      const now = Math.floor(t.clock.now().getTime() / 1000);
      expect(decodeJwt(res.body.token)).toEqual({ ...long, iat: now, exp: now + 60, token_use: 'websocket' });
    }
    expect(decodeJwt(token).exp).toBeUndefined();
    void identity;
  });

  it('expires: verify answers 401 once 60 seconds have passed', async () => {
    const { identity, token } = await newIdentity();
    const short = (await t.request('POST', '/v1/identity/websocket-token', { token })).body.token;
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { token: short })).status).toBe(204);
    t.clock.advance(59_000);
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { token: short })).status).toBe(204);
    t.clock.advance(2_000);
    const expired = await t.request('GET', `/v1/identity/${identity}/verify`, { token: short });
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('unauthorized');
    expect((await t.request('POST', '/v1/identity/websocket-token', { token: short })).status).toBe(401);
    // The long-lived token is unaffected.
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { token })).status).toBe(204);
  });

  it('needs a credential', async () => {
    expect((await t.request('POST', '/v1/identity/websocket-token')).status).toBe(401);
    expect((await t.request('POST', '/identity/websocket_token', { token: 'nope' })).status).toBe(401);
  });

  it('takes the session cookie from an allowed origin, and refuses it cross-origin', async () => {
    const { setCookie, user } = await t.signIn();
    const cookie = setCookie!.split(';')[0]!;
    const ok = await t.request('POST', '/v1/identity/websocket-token', { headers: { cookie, origin: ORIGIN } });
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.token).hex_identity).toBe(user.identity);
    const cross = await t.request('POST', '/v1/identity/websocket-token', { headers: { cookie, origin: 'https://evil.example' } });
    expect(cross.status).toBe(403);
  });
});

describe('GET /:identity/verify', () => {
  it('answers 204 for the token’s own identity, with Bearer or Basic, on both routes, either case', async () => {
    const { identity, token } = await newIdentity();
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { token })).status).toBe(204);
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { headers: basic(token) })).status).toBe(204);
    expect((await t.request('GET', `/identity/${identity}/verify`, { token })).status).toBe(204);
    expect((await t.request('GET', `/v1/identity/${identity.toUpperCase()}/verify`, { token })).status).toBe(204);
  });

  it('accepts a session token for the account’s identity', async () => {
    const { token, user } = await t.signIn();
    expect((await t.request('GET', `/v1/identity/${user.identity}/verify`, { token })).status).toBe(204);
  });

  it('answers 400 for a valid token of another identity', async () => {
    const a = await newIdentity();
    const b = await newIdentity();
    const res = await t.request('GET', `/v1/identity/${b.identity}/verify`, { token: a.token });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect((await t.request('GET', `/identity/${b.identity}/verify`, { token: a.token })).status).toBe(400);
  });

  it('answers 401 without a token, with a garbage one, or a malformed header', async () => {
    const { identity, token } = await newIdentity();
    expect((await t.request('GET', `/v1/identity/${identity}/verify`)).status).toBe(401);
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { token: 'a.b.c' })).status).toBe(401);
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { token: `${token}x` })).status).toBe(401);
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { headers: { authorization: `Token ${token}` } })).status).toBe(401);
    const wrongUser = { authorization: `Basic ${Buffer.from(`user:${token}`).toString('base64')}` };
    expect((await t.request('GET', `/v1/identity/${identity}/verify`, { headers: wrongUser })).status).toBe(401);
  });
});

describe('malformed :identity', () => {
  const bad = ['c200', 'c'.repeat(63), 'c'.repeat(65), `0x${'c'.repeat(62)}`, `${'c'.repeat(63)}g`, 'not-an-identity'];

  it('is 400 on every identity route', async () => {
    const { token } = await newIdentity();
    for (const id of bad) {
      for (const [method, path] of [
        ['GET', `/v1/identity/${id}/verify`],
        ['GET', `/identity/${id}/verify`],
        ['POST', `/v1/identity/${id}/set-email?email=a@example.com`],
        ['POST', `/identity/${id}/set-email?email=a@example.com`],
        ['GET', `/v1/identity/${id}/databases`],
        ['GET', `/identity/${id}/databases`],
        ['PUT', `/v1/identity/${id}/databases/${'a'.repeat(64)}`],
        ['DELETE', `/v1/identity/${id}/databases/${'a'.repeat(64)}`],
      ] as const) {
        const res = await t.request(method, path, { token });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
    }
  });
});

describe('set-email', () => {
  it('attaches the address unverified, on both routes', async () => {
    const { identity, token } = await newIdentity();
    const email = uniqueEmail();
    const res = await t.request('POST', `/v1/identity/${identity}/set-email?email=${encodeURIComponent(` ${email.toUpperCase()} `)}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ identity, email });
    const [row] = await t.db.select().from(users).where(eq(users.identity, identity));
    expect(row).toMatchObject({ email: null, unverifiedEmail: email });

    const other = uniqueEmail();
    expect((await t.request('POST', `/identity/${identity.toUpperCase()}/set-email?email=${other}`, { token })).status).toBe(200);
    const [again] = await t.db.select().from(users).where(eq(users.identity, identity));
    expect(again!.unverifiedEmail).toBe(other);
  });

  it('works with a session token, and never touches the verified email', async () => {
    const { token, user, email } = await t.signIn();
    const other = uniqueEmail();
    expect((await t.request('POST', `/v1/identity/${user.identity}/set-email?email=${other}`, { token })).status).toBe(200);
    const [row] = await t.db.select().from(users).where(eq(users.id, user.id));
    expect(row).toMatchObject({ email, unverifiedEmail: other });
  });

  it('answers 401 without a token or with another identity’s token, and 400 for a bad email', async () => {
    const a = await newIdentity();
    const b = await newIdentity();
    const email = uniqueEmail();
    expect((await t.request('POST', `/v1/identity/${a.identity}/set-email?email=${email}`)).status).toBe(401);
    const other = await t.request('POST', `/v1/identity/${a.identity}/set-email?email=${email}`, { token: b.token });
    expect(other.status).toBe(401);
    expect(other.body.error.code).toBe('unauthorized');
    expect((await t.request('POST', `/identity/${a.identity}/set-email?email=${email}`, { token: b.token })).status).toBe(401);
    const [row] = await t.db.select().from(users).where(eq(users.identity, a.identity));
    expect(row!.unverifiedEmail).toBeNull();

    for (const query of ['?email=not-an-email', '?email=', '', `?email=${'a'.repeat(250)}@example.com`]) {
      const res = await t.request('POST', `/v1/identity/${a.identity}/set-email${query}`, { token: a.token });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
  });
});

describe('legacy POST /identity and GET /identity?email=', () => {
  it('creates an account with the email attached unverified', async () => {
    const email = uniqueEmail();
    const res = await t.request('POST', `/identity?email=${encodeURIComponent(email.toUpperCase())}`);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.token).hex_identity).toBe(res.body.identity);
    const [row] = await t.db.select().from(users).where(eq(users.identity, res.body.identity));
    expect(row).toMatchObject({ email: null, unverifiedEmail: email });

    const plain = await t.request('POST', '/identity');
    expect(plain.status).toBe(200);
    const [anon] = await t.db.select().from(users).where(eq(users.identity, plain.body.identity));
    expect(anon).toMatchObject({ email: null, unverifiedEmail: null });

    const bad = await t.request('POST', '/identity?email=nope');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });

  it('lists the identities carrying an email: the verified one first, then those that claim it', async () => {
    const email = uniqueEmail();
    expect((await t.request('GET', `/identity?email=${email}`)).body).toEqual({ identities: [] });
    const anon = (await t.request('POST', `/identity?email=${email}`)).body;
    const signedIn = await t.signIn(email);
    const res = await t.request('GET', `/identity?email=${encodeURIComponent(email.toUpperCase())}`);
    expect(res.status).toBe(200);
    expect(res.body.identities).toEqual([
      { identity: signedIn.user.identity, email, verified: true },
      { identity: anon.identity, email, verified: false },
    ]);
  });

  it('answers 400 without an email', async () => {
    for (const query of ['', '?email=', '?email=nope']) {
      const res = await t.request('GET', `/identity${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
  });
});

describe('no pre-account takeover', () => {
  it('an address attached unverified never receives the owner’s code sign-in', async () => {
    const victim = uniqueEmail('victim');
    const attacker = (await t.request('POST', `/identity?email=${victim}`)).body;
    const attacker2 = await newIdentity();
    expect((await t.request('POST', `/v1/identity/${attacker2.identity}/set-email?email=${victim}`, { token: attacker2.token })).status).toBe(200);

    const signedIn = await t.signIn(victim);
    expect(signedIn.user.email).toBe(victim);
    expect(signedIn.user.identity).not.toBe(attacker.identity);
    expect(signedIn.user.identity).not.toBe(attacker2.identity);

    // The victim's new account is a different row; the attackers' accounts stay unverified.
    const rows = await t.db.select().from(users).where(eq(users.unverifiedEmail, victim));
    expect(rows.map((r) => r.identity).sort()).toEqual([attacker.identity, attacker2.identity].sort());
    expect(rows.every((r) => r.email === null)).toBe(true);

    // The attacker's token does not reach the victim's account, and the victim's session is not the attacker's identity.
    expect((await t.request('GET', `/v1/identity/${signedIn.user.identity}/verify`, { token: attacker.token })).status).toBe(400);
    expect((await t.request('GET', `/v1/identity/${attacker.identity}/verify`, { token: signedIn.token })).status).toBe(400);

    const listed = await t.request('GET', `/identity?email=${victim}`);
    expect(listed.body.identities.map((i: { identity: string }) => i.identity).sort()).toEqual(
      [attacker.identity, attacker2.identity, signedIn.user.identity].sort(),
    );

    // Later sign-ins keep landing in the verified account.
    const again = await t.signIn(victim);
    expect(again.user.id).toBe(signedIn.user.id);
  });

  it('attaching a verified user’s address elsewhere does not move their sign-in', async () => {
    const { email, user } = await t.signIn();
    const attacker = await newIdentity();
    await t.request('POST', `/v1/identity/${attacker.identity}/set-email?email=${email}`, { token: attacker.token });
    const again = await t.signIn(email);
    expect(again.user.id).toBe(user.id);
  });
});

describe('databases', () => {
  it('registers, lists and removes addresses owned by the identity', async () => {
    const { identity, token } = await newIdentity();
    const short = 'AB'.repeat(16);
    const long = 'cd'.repeat(32);
    expect((await t.request('GET', `/v1/identity/${identity}/databases`)).body).toEqual({ addresses: [] });

    expect((await t.request('PUT', `/v1/identity/${identity}/databases/${short}`, { token })).status).toBe(204);
    t.clock.advance(1);
    expect((await t.request('PUT', `/v1/identity/${identity.toUpperCase()}/databases/${long}`, { headers: basic(token) })).status).toBe(204);
    expect((await t.request('PUT', `/v1/identity/${identity}/databases/${short.toLowerCase()}`, { token })).status).toBe(204);

    const listed = await t.request('GET', `/v1/identity/${identity}/databases`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ addresses: [short.toLowerCase(), long] });
    expect((await t.request('GET', `/identity/${identity.toUpperCase()}/databases`)).body).toEqual(listed.body);

    expect((await t.request('DELETE', `/v1/identity/${identity}/databases/${short}`, { token })).status).toBe(204);
    expect((await t.request('DELETE', `/v1/identity/${identity}/databases/${short}`, { token })).status).toBe(204);
    expect((await t.request('GET', `/v1/identity/${identity}/databases`)).body).toEqual({ addresses: [long] });
  });

  it('gives an address one owner: another identity registering it is 403, and it stays listed under the first', async () => {
    const a = await newIdentity();
    const b = await newIdentity();
    const address = '12'.repeat(32);
    expect((await t.request('PUT', `/v1/identity/${a.identity}/databases/${address}`, { token: a.token })).status).toBe(204);
    const taken = await t.request('PUT', `/v1/identity/${b.identity}/databases/${address.toUpperCase()}`, { token: b.token });
    expect(taken.status).toBe(403);
    expect(taken.body.error.code).toBe('forbidden');
    // b's delete of a's address removes nothing.
    expect((await t.request('DELETE', `/v1/identity/${b.identity}/databases/${address}`, { token: b.token })).status).toBe(204);
    expect((await t.request('GET', `/v1/identity/${a.identity}/databases`)).body).toEqual({ addresses: [address] });
    expect((await t.request('GET', `/v1/identity/${b.identity}/databases`)).body).toEqual({ addresses: [] });

    // Once a lets it go, b can take it.
    expect((await t.request('DELETE', `/v1/identity/${a.identity}/databases/${address}`, { token: a.token })).status).toBe(204);
    expect((await t.request('PUT', `/v1/identity/${b.identity}/databases/${address}`, { token: b.token })).status).toBe(204);
    expect((await t.request('GET', `/v1/identity/${b.identity}/databases`)).body).toEqual({ addresses: [address] });
  });

  it('two identities racing for one address: one 204, one 403', async () => {
    const [a, b] = [await newIdentity(), await newIdentity()];
    const address = '34'.repeat(16);
    const results = await Promise.all([a, b].map((x) => t.request('PUT', `/v1/identity/${x.identity}/databases/${address}`, { token: x.token })));
    expect(results.map((r) => r.status).sort()).toEqual([204, 403]);
    expect(await t.db.select().from(identityDatabases).where(eq(identityDatabases.address, address))).toHaveLength(1);
  });

  it('answers an empty list for an unknown identity', async () => {
    const res = await t.request('GET', `/v1/identity/${computeIdentity(ISSUER, 'nobody')}/databases`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ addresses: [] });
  });

  it('needs the identity’s own token and a 32 or 64 hex digit address', async () => {
    const a = await newIdentity();
    const b = await newIdentity();
    const address = 'ef'.repeat(16);
    expect((await t.request('PUT', `/v1/identity/${a.identity}/databases/${address}`)).status).toBe(401);
    expect((await t.request('PUT', `/v1/identity/${a.identity}/databases/${address}`, { token: b.token })).status).toBe(401);
    expect((await t.request('DELETE', `/v1/identity/${a.identity}/databases/${address}`, { token: b.token })).status).toBe(401);
    expect(await t.db.select().from(identityDatabases).where(eq(identityDatabases.address, address))).toEqual([]);

    for (const bad of ['ef'.repeat(15), 'e'.repeat(33), 'ef'.repeat(24), `${'e'.repeat(31)}z`, 'e'.repeat(65)]) {
      const res = await t.request('PUT', `/v1/identity/${a.identity}/databases/${bad}`, { token: a.token });
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
  });

  it('another identity’s token cannot remove an address, even one it names correctly', async () => {
    const a = await newIdentity();
    const b = await newIdentity();
    const address = 'ad'.repeat(16);
    expect((await t.request('PUT', `/v1/identity/${a.identity}/databases/${address}`, { token: a.token })).status).toBe(204);
    const refused = await t.request('DELETE', `/identity/${a.identity}/databases/${address}`, { token: b.token });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toEqual({ code: 'unauthorized', message: 'The token belongs to another identity.' });
    expect((await t.request('GET', `/v1/identity/${a.identity}/databases`)).body.addresses).toEqual([address]);
  });
});

describe('session-only endpoints', () => {
  it('refuse identity tokens', async () => {
    const { token } = await newIdentity();
    const session = await t.signIn();
    const ws = (await t.request('POST', '/v1/identity/websocket-token', { token: session.token })).body.token;
    for (const jwt of [token, ws]) {
      const res = await t.request('GET', '/auth/sessions/current', { token: jwt });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect((await t.request('GET', '/auth/sessions', { headers: basic(jwt) })).status).toBe(401);
    }
    expect((await t.request('GET', '/auth/sessions/current', { token: session.token })).status).toBe(200);
  });
});
