import type { Server } from 'node:http';
import { and, eq } from 'drizzle-orm';
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { activity, signingKeys } from '../src/db/schema';
import type { Deps } from '../src/deps';
import { KEY_SET_TTL_MS, findVerificationKey, getSigningKey, importSigningKey } from '../src/domain/keys/keys';
import { listen, stopServer } from '../src/entry/node-http';
import { silentLogger } from '../src/ports/logger';
import { createTestContext, uniqueEmail, type TestContext } from './helpers/app';
import { sendRequest } from './helpers/http';

const ADMIN = uniqueEmail('keys-admin');
const PUBLISH_DELAY_MS = 10 * 60_000;

const contexts: TestContext[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) await stopServer(server, 1_000);
  for (const context of contexts) await context.close();
});

async function context(env: Record<string, string> = {}): Promise<TestContext> {
  const t = await createTestContext({ ADMIN_EMAILS: ADMIN, ...env });
  contexts.push(t);
  return t;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

/** A new anonymous account and its long-lived identity token. */
async function mint(t: TestContext): Promise<{ identity: string; token: string }> {
  const res = await t.request('POST', '/v1/identity');
  expect(res.status).toBe(200);
  return res.body;
}

/** The statuses of the two identity routes that take the token: verify, and websocket-token. */
async function statuses(t: TestContext, { identity, token }: { identity: string; token: string }): Promise<[number, number]> {
  const verify = await t.request('GET', `/v1/identity/${identity}/verify`, { token });
  const websocket = await t.request('POST', '/v1/identity/websocket-token', { token });
  return [verify.status, websocket.status];
}

/** The app on a real listener, so that jose fetches its JWKS over HTTP as a resource server does. */
async function serveApp(t: TestContext): Promise<string> {
  const { server, url } = await listen(t.app.fetch, { host: '127.0.0.1', port: 0, log: silentLogger });
  servers.push(server);
  return url;
}

/** Verifies an identity token as SpacetimeDB would: through the JWKS, fetched afresh. */
async function verifyThroughJwks(t: TestContext, url: string, token: string) {
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', url));
  const { payload } = await jwtVerify(token, jwks, { algorithms: ['ES256'], issuer: t.deps.config.issuer, audience: 'spacetimedb' });
  return payload;
}

describe('key rotation through /admin/keys', () => {
  let t: TestContext;
  let url: string;
  let admin: string;
  let first: string;
  let second: string;
  let before: { identity: string; token: string };
  let after: { identity: string; token: string };

  beforeAll(async () => {
    t = await context({ KEY_PUBLISH_DELAY: '10m' });
    url = await serveApp(t);
    admin = (await t.signIn(ADMIN)).token;
  });

  it('starts with one key, the generated one, signing', async () => {
    const res = await t.request('GET', '/admin/keys', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.keys).toEqual([
      { kid: expect.any(String), createdAt: expect.any(String), activatesAt: expect.any(String), retiredAt: null, signing: true },
    ]);
    first = res.body.keys[0].kid;
    const jwks = await t.request('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual([first]);
    before = await mint(t);
    expect(kidOf(before.token)).toBe(first);
  });

  it('rotation publishes a new key at once, which signs only after KEY_PUBLISH_DELAY', async () => {
    const now = t.clock.now();
    const res = await t.request('POST', '/admin/keys/rotate', { token: admin });
    expect(res.status).toBe(201);
    expect(res.body.key).toEqual({
      kid: expect.any(String),
      createdAt: now.toISOString(),
      activatesAt: new Date(now.getTime() + PUBLISH_DELAY_MS).toISOString(),
      retiredAt: null,
      signing: false,
    });
    second = res.body.key.kid;
    expect(second).not.toBe(first);

    // Published at once, in this process's JWKS…
    const jwks = await t.request('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([first, second].sort());
    const published = jwks.body.keys.find((k: { kid: string }) => k.kid === second);
    expect(published).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(await calculateJwkThumbprint(published, 'sha256')).toBe(second);
    // …but the first key signs until the delay has passed, to the millisecond.
    t.clock.advance(PUBLISH_DELAY_MS - 1);
    expect(kidOf((await mint(t)).token)).toBe(first);
    expect((await t.request('GET', '/admin/keys', { token: admin })).body.keys.map((k: { signing: boolean }) => k.signing)).toEqual([true, false]);
    t.clock.advance(1);
    after = await mint(t);
    expect(kidOf(after.token)).toBe(second);
    const listed = (await t.request('GET', '/admin/keys', { token: admin })).body.keys;
    expect(listed.map((k: { kid: string; signing: boolean }) => [k.kid, k.signing])).toEqual([
      [first, false],
      [second, true],
    ]);
  });

  it('tokens signed before and after the rotation verify through the JWKS and on the identity routes', async () => {
    for (const minted of [before, after]) {
      const payload = await verifyThroughJwks(t, url, minted.token);
      expect(payload.hex_identity).toBe(minted.identity);
      expect(await statuses(t, minted)).toEqual([204, 200]);
    }
  });

  it('serves the signing key as /v1/identity/public-key', async () => {
    const key = await getSigningKey(t.deps);
    expect(key.kid).toBe(second);
    const res = await t.request('GET', '/v1/identity/public-key');
    expect(res.body).toBe(key.publicPem);
  });

  it('refuses to retire the signing key (400 key_in_use) and an unknown kid (404)', async () => {
    const inUse = await t.request('DELETE', `/admin/keys/${second}`, { token: admin });
    expect(inUse.status).toBe(400);
    expect(inUse.body.error.code).toBe('key_in_use');
    expect((await t.request('DELETE', '/admin/keys/no-such-kid', { token: admin })).status).toBe(404);
    expect((await t.request('DELETE', `/admin/keys/${encodeURIComponent('a\u0000b')}`, { token: admin })).status).toBe(400);
  });

  it('retiring the old key makes the tokens it signed fail, identity tokens included; the others still verify', async () => {
    const res = await t.request('DELETE', `/admin/keys/${first}`, { token: admin });
    expect(res.status).toBe(204);
    expect(await statuses(t, before)).toEqual([401, 401]);
    await expect(verifyThroughJwks(t, url, before.token)).rejects.toThrow();
    expect(await statuses(t, after)).toEqual([204, 200]);
    await verifyThroughJwks(t, url, after.token);

    const jwks = await t.request('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual([second]);
    const listed = (await t.request('GET', '/admin/keys', { token: admin })).body.keys;
    expect(listed).toEqual([
      expect.objectContaining({ kid: first, retiredAt: t.clock.now().toISOString(), signing: false }),
      expect.objectContaining({ kid: second, retiredAt: null, signing: true }),
    ]);
    // Retired already: not published, so 404.
    expect((await t.request('DELETE', `/admin/keys/${first}`, { token: admin })).status).toBe(404);
  });

  it("logs rotation and retirement on the admin's activity", async () => {
    const res = await t.request('GET', '/activity', { token: admin });
    const actions = res.body.activity.map((a: { action: string; metadata: { kid?: string } }) => [a.action, a.metadata.kid]);
    expect(actions).toEqual(expect.arrayContaining([['signing_key_rotated', second], ['signing_key_retired', first]]));
  });

  it('a pending key can be retired before it ever signs', async () => {
    const pending = (await t.request('POST', '/admin/keys/rotate', { token: admin })).body.key.kid;
    expect((await t.request('DELETE', `/admin/keys/${pending}`, { token: admin })).status).toBe(204);
    t.clock.advance(PUBLISH_DELAY_MS);
    expect(kidOf((await mint(t)).token)).toBe(second);
    expect((await t.request('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid)).toEqual([second]);
  });

  it('needs users:read to list and users:write to rotate or retire; a session, never an identity token', async () => {
    const user = (await t.signIn()).token;
    expect((await t.request('GET', '/admin/keys', { token: user })).status).toBe(403);
    expect((await t.request('POST', '/admin/keys/rotate', { token: user })).status).toBe(403);
    expect((await t.request('DELETE', `/admin/keys/${second}`, { token: user })).status).toBe(403);
    expect((await t.request('GET', '/admin/keys')).status).toBe(401);
    expect((await t.request('POST', '/admin/keys/rotate', { token: after.token })).status).toBe(401);
    expect((await t.request('GET', '/admin/keys', { token: admin })).body.keys).toHaveLength(3);
  });
});

describe('KEY_PUBLISH_DELAY=0', () => {
  it('makes a rotated key sign at once', async () => {
    const t = await context({ KEY_PUBLISH_DELAY: '0' });
    const admin = (await t.signIn(ADMIN)).token;
    const old = await mint(t);
    const res = await t.request('POST', '/admin/keys/rotate', { token: admin });
    expect(res.body.key).toMatchObject({ signing: true, activatesAt: res.body.key.createdAt });
    expect(kidOf((await mint(t)).token)).toBe(res.body.key.kid);
    expect(await statuses(t, old)).toEqual([204, 200]);
  });
});

describe('the first key of a database from before rotation', () => {
  it('is its generated default key, whose kid is filled in when first loaded', async () => {
    const t = await context();
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const pem = await exportPKCS8(privateKey);
    await t.db.insert(signingKeys).values({ id: 'default', privateKeyPem: pem, createdAt: new Date('2025-01-01T00:00:00Z') });
    const expected = (await importSigningKey(pem)).kid;

    expect(kidOf((await mint(t)).token)).toBe(expected);
    const [row] = await t.db.select().from(signingKeys);
    expect(row).toMatchObject({ id: 'default', kid: expected, privateKeyPem: pem, retiredAt: null });
  });
});

describe('JWT_PRIVATE_KEY', () => {
  it('signs first, records only its kid and dates, and can be rotated away from and retired', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const pem = await exportPKCS8(pair.privateKey);
    const configuredKid = await calculateJwkThumbprint(await exportJWK(pair.publicKey), 'sha256');
    const t = await context({ JWT_PRIVATE_KEY: pem, KEY_PUBLISH_DELAY: '1m' });
    const admin = (await t.signIn(ADMIN)).token;

    const old = await mint(t);
    expect(kidOf(old.token)).toBe(configuredKid);
    expect(await t.request('GET', '/v1/identity/public-key').then((r) => r.body)).toBe(await exportSPKI(pair.publicKey));
    // Its row holds no private key: the key stays in the configuration only.
    expect(await t.db.select().from(signingKeys)).toEqual([expect.objectContaining({ id: configuredKid, kid: configuredKid, privateKeyPem: null, retiredAt: null })]);

    const rotated = (await t.request('POST', '/admin/keys/rotate', { token: admin })).body.key.kid;
    t.clock.advance(60_000);
    const fresh = await mint(t);
    expect(kidOf(fresh.token)).toBe(rotated);
    expect((await t.request('DELETE', `/admin/keys/${configuredKid}`, { token: admin })).status).toBe(204);
    expect(await statuses(t, old)).toEqual([401, 401]);
    expect(await statuses(t, fresh)).toEqual([204, 200]);
    const [row] = await t.db.select().from(signingKeys).where(eq(signingKeys.kid, configuredKid));
    expect(row).toMatchObject({ privateKeyPem: null, retiredAt: t.clock.now() });

    // A restart with the same JWT_PRIVATE_KEY keeps it retired: the rotated key signs, and alone is published.
    const restarted = createApp({ ...t.deps, config: { ...t.deps.config } });
    const call = (method: string, path: string) => sendRequest((p, init) => restarted.request(p, init), method, path);
    expect(kidOf((await call('POST', '/v1/identity')).body.token)).toBe(rotated);
    expect((await call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid)).toEqual([rotated]);
  });
});

describe('another process over the same database', () => {
  let t: TestContext;
  let admin: string;
  /** The same database and clock, with a key set of its own: another server process. */
  let other: Deps;

  beforeAll(async () => {
    t = await context({ KEY_PUBLISH_DELAY: '0' });
    admin = (await t.signIn(ADMIN)).token;
    other = { ...t.deps, config: { ...t.deps.config } };
  });

  it('keeps signing from its copy of the key set until KEY_SET_TTL_MS, verifies an unknown kid at once, and publishes at once', async () => {
    const firstKid = (await getSigningKey(other)).kid;
    expect((await getSigningKey(t.deps)).kid).toBe(firstKid);
    const rotated = (await t.request('POST', '/admin/keys/rotate', { token: admin })).body.key.kid;
    const signedHere = await getSigningKey(t.deps);
    expect(signedHere.kid).toBe(rotated);

    // Its copy is younger than the TTL: it still signs with the first key (which every process still accepts)…
    expect((await getSigningKey(other)).kid).toBe(firstKid);
    // …yet a token under the new kid makes it read the set again…
    expect(await findVerificationKey(other, rotated)).toBe(signedHere.publicKey);
    // …after which it signs with the new key too.
    expect((await getSigningKey(other)).kid).toBe(rotated);
  });

  it('accepts a key retired elsewhere until its copy is KEY_SET_TTL_MS old', async () => {
    const keys = (await t.request('GET', '/admin/keys', { token: admin })).body.keys;
    const old = keys.find((k: { signing: boolean }) => !k.signing).kid;
    expect(await findVerificationKey(other, old)).not.toBeNull();
    expect((await t.request('DELETE', `/admin/keys/${old}`, { token: admin })).status).toBe(204);
    expect(await findVerificationKey(t.deps, old)).toBeNull();
    t.clock.advance(KEY_SET_TTL_MS - 1);
    expect(await findVerificationKey(other, old)).not.toBeNull();
    t.clock.advance(1);
    expect(await findVerificationKey(other, old)).toBeNull();
  });

  it('signs and verifies from memory while the copy is fresh: no database read per token', async () => {
    const kid = (await getSigningKey(other)).kid;
    // Without any database at all, the copy still answers until it is KEY_SET_TTL_MS old.
    const offline: Deps = { ...other, db: undefined as unknown as Deps['db'] };
    expect((await getSigningKey(offline)).kid).toBe(kid);
    expect(await findVerificationKey(offline, kid)).not.toBeNull();
    t.clock.advance(KEY_SET_TTL_MS);
    await expect(getSigningKey(offline)).rejects.toThrow();
  });
});

describe('activity rows', () => {
  it("record a rotation on the admin's log, with the new kid", async () => {
    const t = await context();
    const signedIn = await t.signIn(ADMIN);
    const kid = (await t.request('POST', '/admin/keys/rotate', { token: signedIn.token })).body.key.kid;
    const rows = await t.db
      .select()
      .from(activity)
      .where(and(eq(activity.userId, signedIn.user.id), eq(activity.action, 'signing_key_rotated')));
    expect(rows).toEqual([expect.objectContaining({ severity: 'info', metadata: expect.objectContaining({ kid }) })]);
  });
});
