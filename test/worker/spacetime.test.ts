import { decodeJwt, decodeProtectedHeader, importJWK, importSPKI, jwtVerify, type JWK } from 'jose';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { computeIdentity } from '../../src/domain/spacetime/identity';
import { request, signIn, uniqueEmail, workerUrl } from './client';

// The test worker has no JWT_PRIVATE_KEY: like a worker deployed without that secret, it signs
// with the key generated on first use and kept in `signing_keys`. Each request of the worker has
// its own database client, so every request reads the key again from PostgreSQL; these tests
// check that all of them sign and verify with one and the same key.
const headers = { 'cf-connecting-ip': '198.51.100.42' };

const sql = postgres(inject('workerDatabaseUrl'), { max: 1, onnotice: () => {} });
afterAll(() => sql.end());

async function newIdentity(): Promise<{ identity: string; token: string }> {
  const res = await request('POST', '/v1/identity', { headers });
  expect(res.status).toBe(200);
  return res.body;
}

/**
 * Follows discovery the way SpacetimeDB does: `{iss}/.well-known/openid-configuration`, then its
 * `jwks_uri`. The worker's ISSUER is wrangler.toml's `http://localhost:8787` (it cannot be the
 * test worker's own URL: wrangler picks a free port when it starts, after [vars] are read), so the
 * documents are fetched from the worker at the same paths; the test checks that the URLs the
 * worker publishes are under ISSUER, which is all that differs.
 */
async function discover(iss: string): Promise<{ jwksUri: string; keys: JWK[] }> {
  const discoveryUrl = new URL(`${iss.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  const discovery = await request('GET', discoveryUrl.pathname);
  expect(discovery.status).toBe(200);
  expect(discovery.body).toMatchObject({
    issuer: iss,
    jwks_uri: `${iss.replace(/\/+$/, '')}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: ['ES256'],
  });
  const jwksUri = new URL(discovery.body.jwks_uri);
  expect(jwksUri.origin).toBe(new URL(iss).origin);
  const jwks = await request('GET', jwksUri.pathname);
  expect(jwks.status).toBe(200);
  expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
  for (const key of jwks.body.keys as JWK[]) {
    expect(key).toMatchObject({ kid: expect.any(String), alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
    expect(key).not.toHaveProperty('d');
  }
  return { jwksUri: jwksUri.href, keys: jwks.body.keys };
}

async function verifyWithJwks(token: string) {
  const { kid } = decodeProtectedHeader(token);
  const { keys } = await discover(decodeJwt(token).iss!);
  const jwk = keys.find((k) => k.kid === kid);
  expect(jwk, `no key ${kid} in the JWKS`).toBeDefined();
  return (await jwtVerify(token, await importJWK(jwk!, 'ES256'), { algorithms: ['ES256'] })).payload;
}

beforeAll(async () => {
  // A database whose key has not been generated yet, as on a first deploy (only this file mints tokens).
  await sql`delete from signing_keys`;
});

describe('identity tokens on Workers', () => {
  it('concurrent first requests agree on one generated signing key', async () => {
    const minted = await Promise.all(Array.from({ length: 6 }, () => newIdentity()));
    const kids = new Set(minted.map(({ token }) => decodeProtectedHeader(token).kid));
    expect(kids.size).toBe(1);
    expect(await sql`select id from signing_keys`).toHaveLength(1);
    // Each was signed by the key the JWKS publishes.
    for (const { token } of minted) await verifyWithJwks(token);
  });

  it('POST /v1/identity answers a token that verifies through discovery and JWKS, with identity = f(iss, sub)', async () => {
    const { identity, token } = await newIdentity();
    expect(identity).toMatch(/^c200[0-9a-f]{60}$/);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'JWT', kid: expect.any(String) });

    const payload = await verifyWithJwks(token);
    expect(Object.keys(payload).sort()).toEqual(['aud', 'hex_identity', 'iat', 'iss', 'sub']);
    expect(payload).toMatchObject({ iss: 'http://localhost:8787', aud: ['spacetimedb'] });
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(60);
    const computed = computeIdentity(payload.iss!, payload.sub!);
    expect(payload.hex_identity).toBe(computed);
    expect(computed).toBe(identity);

    const [row] = await sql<{ identity: string }[]>`select identity from users where id = ${payload.sub!}`;
    expect(row?.identity).toBe(identity);
  });

  it('signs with the same key on every request: a token minted on one request verifies on another', async () => {
    const first = await newIdentity();
    const second = await newIdentity();
    expect(decodeProtectedHeader(first.token).kid).toBe(decodeProtectedHeader(second.token).kid);

    // Every request below is a new database client, and each verifies a token minted earlier.
    for (const { identity, token } of [first, second]) {
      expect((await request('GET', `/v1/identity/${identity}/verify`, { token, headers })).status).toBe(204);
    }
    const jwks = await request('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: JWK) => k.kid)).toEqual([decodeProtectedHeader(first.token).kid]);
    // And the SPKI PEM served on yet another request verifies both.
    const pem = await fetch(new URL('/v1/identity/public-key', workerUrl));
    expect(pem.headers.get('content-type')).toBe('application/pem-certificate-chain');
    const publicKey = await importSPKI(await pem.text(), 'ES256');
    for (const { token } of [first, second]) await expect(jwtVerify(token, publicKey)).resolves.toBeDefined();
  });

  it('GET /v1/identity/:identity/verify: 204 own token, 400 another identity, 401 bad or missing token', async () => {
    const mine = await newIdentity();
    const theirs = await newIdentity();
    const verify = (identity: string, token?: string) => request('GET', `/v1/identity/${identity}/verify`, { token, headers });

    expect((await verify(mine.identity, mine.token)).status).toBe(204);
    expect((await verify(mine.identity.toUpperCase(), mine.token)).status).toBe(204);

    const other = await verify(theirs.identity, mine.token);
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe('invalid_request');

    const missing = await verify(mine.identity);
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('unauthorized');

    const [header, payload] = mine.token.split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(64).toString('base64url')}`;
    expect((await verify(mine.identity, forged)).status).toBe(401);

    const badIdentity = await verify('not-hex', mine.token);
    expect(badIdentity.status).toBe(400);
  });
});

describe('websocket tokens on Workers', () => {
  it('a code-signed-in session gets a 60-second JWT for the account’s identity', async () => {
    const { token: session, user } = await signIn(uniqueEmail('spacetime'), headers);
    const res = await request('POST', '/v1/identity/websocket-token', { token: session, headers });
    expect(res.status).toBe(200);

    const payload = await verifyWithJwks(res.body.token);
    expect(payload).toMatchObject({ hex_identity: user.identity, sub: user.id, iss: 'http://localhost:8787', aud: ['spacetimedb'] });
    // Expiry itself (401 after 60 s) is tested on Node with a clock the test moves: the worker
    // reads the system clock, and waiting a minute here is not worth it.
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(computeIdentity(payload.iss!, payload.sub!)).toBe(user.identity);

    const verify = await request('GET', `/v1/identity/${user.identity}/verify`, { token: res.body.token, headers });
    expect(verify.status).toBe(204);
  });

  it('re-signs an identity token’s claims, also on the legacy route with Basic', async () => {
    const { identity, token } = await newIdentity();
    const long = decodeJwt(token);
    const basic = `Basic ${Buffer.from(`token:${token}`).toString('base64')}`;
    const res = await request('POST', '/identity/websocket_token', { headers: { ...headers, authorization: basic } });
    expect(res.status).toBe(200);
    const short = await verifyWithJwks(res.body.token);
    expect(short).toMatchObject({ hex_identity: identity, sub: long.sub, iss: long.iss, aud: long.aud });
    expect(short.exp! - short.iat!).toBe(60);
  });

  it('refuses a caller without a valid token with 401', async () => {
    expect((await request('POST', '/v1/identity/websocket-token', { headers })).status).toBe(401);
    expect((await request('POST', '/v1/identity/websocket-token', { token: 'nope.nope.nope', headers })).status).toBe(401);
  });
});
