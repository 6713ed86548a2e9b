import { eq } from 'drizzle-orm';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importSPKI,
  jwtVerify,
  SignJWT,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { parseConfig } from '../src/config';
import type { Database } from '../src/db/database';
import { pgliteDatabase } from '../src/db/pglite';
import { openPostgres } from '../src/db/postgres';
import { signingKeys, users } from '../src/db/schema';
import type { Deps } from '../src/deps';
import { computeIdentity } from '../src/domain/spacetime/identity';
import { getSigningKey, importSigningKey } from '../src/domain/keys/keys';
import { createTestContext, ORIGIN, type TestContext } from './helpers/app';

let t: TestContext;
/** Extra connections to the same database, closed at the end. */
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  t = await createTestContext();
});
afterAll(async () => {
  for (const close of closers) await close();
  await t.close();
});

/** A second `Database` over the same data, as another process would open it. */
function anotherConnection(): Database {
  if (t.database.driver === 'postgres') {
    const other = openPostgres(t.database.url!, { max: 2 });
    closers.push(other.close);
    return other.db;
  }
  return pgliteDatabase((t.db as unknown as { $client: Parameters<typeof pgliteDatabase>[0] }).$client);
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(t.clock.now().getTime() / 1000);

async function newIdentity(): Promise<{ identity: string; token: string; sub: string }> {
  const res = await t.request('POST', '/v1/identity');
  expect(res.status).toBe(200);
  return { ...res.body, sub: decodeJwt(res.body.token).sub! };
}

/** Both routes that take an identity token: verify and websocket-token. Answers their statuses. */
async function statuses(identity: string, token: string): Promise<[number, number]> {
  const verify = await t.request('GET', `/v1/identity/${identity}/verify`, { token });
  const ws = await t.request('POST', '/v1/identity/websocket-token', { token });
  return [verify.status, ws.status];
}

/** Signs claims with the server's real key, so only the one thing under test is wrong. */
async function signWithServerKey(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const key = await getSigningKey(t.deps);
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: key.kid, ...header }).sign(key.privateKey);
}

describe('signing key', () => {
  // Runs first: nothing has loaded the key of this fresh database yet.
  it('is generated once, even by concurrent first loads, and persisted in signing_keys', async () => {
    expect(await t.db.select().from(signingKeys)).toEqual([]);
    const connections = [t.db, anotherConnection(), anotherConnection()];
    const keys = await Promise.all(connections.map((db) => getSigningKey({ ...t.deps, db })));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);

    const rows = await t.db.select().from(signingKeys);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe('default');
    expect(rows[0]!.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect((await importSigningKey(rows[0]!.privateKeyPem!)).kid).toBe(keys[0]!.kid);
  });

  it('keeps its kid across apps over the same database, and kid is the RFC 7638 thumbprint', async () => {
    const first = await t.request('GET', '/.well-known/jwks.json');
    const second = await createApp({ ...t.deps, db: anotherConnection() }).request('/.well-known/jwks.json');
    const secondBody = (await second.json()) as { keys: { kid: string }[] };
    expect(first.body.keys).toHaveLength(1);
    expect(secondBody.keys).toEqual(first.body.keys);
    const [jwk] = first.body.keys;
    expect(jwk.kid).toBe(await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, 'sha256'));

    // A token from one app is accepted by the other.
    const { identity, token } = await newIdentity();
    const verify = await createApp({ ...t.deps, db: anotherConnection() }).request(`/v1/identity/${identity}/verify`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(verify.status).toBe(204);
  });

  it('is JWT_PRIVATE_KEY when configured', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const pem = await exportPKCS8(pair.privateKey);
    // As an environment variable would carry it: one line with literal \n.
    const config = parseConfig({ AUTH_SECRET: 'a'.repeat(64), ORIGIN, JWT_PRIVATE_KEY: pem.replace(/\n/g, '\\n') });
    expect(config.jwtPrivateKey).toBe(pem);
    const deps: Deps = { ...t.deps, config: { ...t.deps.config, jwtPrivateKey: config.jwtPrivateKey } };
    const app = createApp(deps);

    const jwks = (await (await app.request('/.well-known/jwks.json')).json()) as { keys: { kid: string; x: string }[] };
    const publicJwk = await exportJWK(pair.publicKey);
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]!.kid).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
    expect(jwks.keys[0]!.x).toBe(publicJwk.x);
    expect(await (await app.request('/v1/identity/public-key')).text()).toBe(await exportSPKI(pair.publicKey));

    const minted = (await (await app.request('/v1/identity', { method: 'POST' })).json()) as { identity: string; token: string };
    expect(decodeProtectedHeader(minted.token).kid).toBe(jwks.keys[0]!.kid);
    await expect(jwtVerify(minted.token, pair.publicKey, { algorithms: ['ES256'] })).resolves.toBeDefined();

    // The app with the generated key does not know this kid.
    expect(await statuses(minted.identity, minted.token)).toEqual([401, 401]);
    // The configured key has a row of its own that records its kid and dates, never its private key.
    const [row] = await t.db.select().from(signingKeys).where(eq(signingKeys.kid, jwks.keys[0]!.kid));
    expect(row).toMatchObject({ id: jwks.keys[0]!.kid, privateKeyPem: null, retiredAt: null });
    expect(await t.db.select().from(signingKeys)).toHaveLength(2);
  });
});

describe('minted tokens', () => {
  it('are compact JWS that jose verifies, with the header jose writes', async () => {
    const key = await getSigningKey(t.deps);
    const { token: identityToken } = await newIdentity();
    const session = (await t.signIn()).token;
    const ws = await t.request('POST', '/v1/identity/websocket-token', { token: session });
    expect(ws.status).toBe(200);
    for (const token of [identityToken, ws.body.token as string, ws.body.token as string]) {
      const [header] = token.split('.');
      expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT', kid: key.kid });
      const { payload } = await jwtVerify(token, key.publicKey, { algorithms: ['ES256'], issuer: t.deps.config.issuer, currentDate: t.clock.now() });
      expect(computeIdentity(payload.iss!, payload.sub!)).toBe(payload.hex_identity);
    }
    const { payload } = await jwtVerify(ws.body.token, key.publicKey, { currentDate: t.clock.now() });
    expect([payload.token_use, payload.exp! - payload.iat!]).toEqual(['websocket', 60]);
  });
});

describe('forged and invalid tokens are 401', () => {
  let victim: { identity: string; token: string; sub: string };
  let claims: JWTPayload;
  beforeAll(async () => {
    victim = await newIdentity();
    claims = decodeJwt(victim.token);
    expect(await statuses(victim.identity, victim.token)).toEqual([204, 200]);
  });

  it('alg: none', async () => {
    const { kid } = decodeProtectedHeader(victim.token);
    for (const alg of ['none', 'None', 'NONE']) {
      const token = `${b64({ alg, typ: 'JWT', kid })}.${b64(claims)}.`;
      expect(await statuses(victim.identity, token), alg).toEqual([401, 401]);
    }
  });

  it('HS256 keyed with the public key (PEM, SPKI bytes, JWK)', async () => {
    const pem = await (await t.app.request('/v1/identity/public-key')).text();
    const jwk = (await t.request('GET', '/.well-known/jwks.json')).body.keys[0];
    const { kid } = decodeProtectedHeader(victim.token);
    const spki = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const secrets = [pem, pem.trim(), JSON.stringify(jwk), spki];
    for (const secret of secrets) {
      const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : new Uint8Array(secret);
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid }).sign(key);
      expect(await statuses(victim.identity, token)).toEqual([401, 401]);
    }
  });

  it('a tampered payload or signature', async () => {
    const [header, payload, signature] = victim.token.split('.') as [string, string, string];
    const other = await newIdentity();
    const swapped = `${header}.${b64({ ...claims, sub: other.sub, hex_identity: other.identity })}.${signature}`;
    expect(await statuses(other.identity, swapped)).toEqual([401, 401]);
    const later = `${header}.${b64({ ...claims, iat: (claims.iat as number) + 1 })}.${signature}`;
    expect(await statuses(victim.identity, later)).toEqual([401, 401]);

    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect(await statuses(victim.identity, `${header}.${payload}.${flipped}`)).toEqual([401, 401]);
    expect(await statuses(victim.identity, `${header}.${payload}.`)).toEqual([401, 401]);
    expect(await statuses(victim.identity, `${header}.${payload}`)).toEqual([401, 401]);
  });

  it('a key that is not the server’s, even under its kid', async () => {
    const { kid } = decodeProtectedHeader(victim.token);
    const foreign = await generateKeyPair('ES256');
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid }).sign(foreign.privateKey);
    expect(await statuses(victim.identity, token)).toEqual([401, 401]);
  });

  it('an unknown or missing kid', async () => {
    expect(await statuses(victim.identity, await signWithServerKey(claims, { kid: 'some-other-key' }))).toEqual([401, 401]);
    expect(await statuses(victim.identity, await signWithServerKey(claims, { kid: undefined }))).toEqual([401, 401]);
    // The control: the same claims under the right kid pass.
    expect(await statuses(victim.identity, await signWithServerKey(claims))).toEqual([204, 200]);
  });

  it('a wrong iss, even with a matching hex_identity', async () => {
    for (const iss of ['https://evil.example', `${t.deps.config.issuer}/`]) {
      const token = await signWithServerKey({ ...claims, iss, hex_identity: computeIdentity(iss, victim.sub) });
      expect(await statuses(computeIdentity(iss, victim.sub), token), iss).toEqual([401, 401]);
      expect(await statuses(victim.identity, token), iss).toEqual([401, 401]);
    }
  });

  it('an expired token', async () => {
    const token = await signWithServerKey({ ...claims, iat: now() - 120, exp: now() - 1 });
    expect(await statuses(victim.identity, token)).toEqual([401, 401]);
    const fresh = await signWithServerKey({ ...claims, iat: now(), exp: now() + 60 });
    expect(await statuses(victim.identity, fresh)).toEqual([204, 200]);
  });

  it('hex_identity that is not the identity of (iss, sub)', async () => {
    const other = await newIdentity();
    const token = await signWithServerKey({ ...claims, hex_identity: other.identity });
    expect(await statuses(other.identity, token)).toEqual([401, 401]);
    expect(await statuses(victim.identity, token)).toEqual([401, 401]);
    const { hex_identity: _, ...without } = claims;
    expect(await statuses(victim.identity, await signWithServerKey(without))).toEqual([401, 401]);
  });

  it('claims SpacetimeDB would refuse: long sub, non-integer iat', async () => {
    const longSub = 'x'.repeat(129);
    const long = await signWithServerKey({ ...claims, sub: longSub, hex_identity: computeIdentity(claims.iss!, longSub) });
    expect(await statuses(computeIdentity(claims.iss!, longSub), long)).toEqual([401, 401]);
    expect(await statuses(victim.identity, await signWithServerKey({ ...claims, iat: 1.5 }))).toEqual([401, 401]);
  });

  it('a token for an account that no longer exists', async () => {
    const gone = await newIdentity();
    expect(await statuses(gone.identity, gone.token)).toEqual([204, 200]);
    await t.db.delete(users).where(eq(users.id, gone.sub));
    expect(await statuses(gone.identity, gone.token)).toEqual([401, 401]);
  });

  it('the stored key still verifies the victim’s real token (control)', async () => {
    const pem = await (await t.app.request('/v1/identity/public-key')).text();
    await expect(jwtVerify(victim.token, await importSPKI(pem, 'ES256'))).resolves.toBeDefined();
    expect(await statuses(victim.identity, victim.token)).toEqual([204, 200]);
  });
});
