import { eq } from 'drizzle-orm';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeys } from '../../../src/db/schema';
import { KEY_SET_TTL_MS } from '../../../src/domain/keys/keys';
import { uniqueEmail } from '../../helpers/app';
import type { RunningServer } from '../../helpers/server';
import { call, startServerPair, type ServerPair } from './pair';

// Two real server processes on one PostgreSQL, sharing JWT_PRIVATE_KEY, ISSUER and the key set in
// signing_keys. The publish delay is longer than the key set's cache lifetime, as the default
// (10 minutes) is: every process has read the new key before it activates, so all switch together.
const PUBLISH_DELAY_S = Math.ceil(KEY_SET_TTL_MS / 1000) + 5;
const ISSUER = 'http://localhost:8080';
const ADMIN = uniqueEmail('two-keys-admin');

let pair: ServerPair;
let a: RunningServer;
let b: RunningServer;
const figures: string[] = [];

beforeAll(async () => {
  pair = await startServerPair({ ISSUER, ADMIN_EMAILS: ADMIN, KEY_PUBLISH_DELAY: `${PUBLISH_DELAY_S}s` });
  ({ a, b } = pair);
});
afterAll(async () => {
  console.log(`signing keys on two processes: ${figures.join('; ')}`);
  await pair?.stop();
});

/** Polls `check` every 250 ms until it holds; fails after `ms`. */
async function eventually(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return Date.now() - start;
}

async function signInAdmin(server: RunningServer): Promise<string> {
  expect((await call(server, 'POST', '/auth/verify', { body: { email: ADMIN } })).status).toBe(202);
  await pair.smtp.waitFor(ADMIN);
  const mail = [...pair.smtp.mails].reverse().find((m) => m.to.includes(ADMIN))!;
  const res = await call(server, 'POST', '/auth/sessions', { body: { method: 'otp', email: ADMIN, token: mail.text.match(/\b(\d{6})\b/)![1] } });
  expect(res.status).toBe(201);
  return res.body.token;
}

interface Minted {
  identity: string;
  token: string;
}
const kidOf = (token: string) => decodeProtectedHeader(token).kid!;
const jwksKids = async (server: RunningServer) => ((await call(server, 'GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid).sort();

async function mint(server: RunningServer): Promise<Minted> {
  const res = await call(server, 'POST', '/v1/identity');
  expect(res.status).toBe(200);
  return res.body;
}

/** A fresh 60-second token from `server` for the account behind `minted`: signed by the key that signs there now. */
async function resign(server: RunningServer, minted: Minted): Promise<string> {
  const res = await call(server, 'POST', '/v1/identity/websocket-token', { token: minted.token });
  expect(res.status).toBe(200);
  return res.body.token;
}

const verifyOn = async (server: RunningServer, minted: Minted) =>
  (await call(server, 'GET', `/v1/identity/${minted.identity}/verify`, { token: minted.token })).status;

describe('signing keys across two server processes', () => {
  let configured: string;
  let rotated: string;
  let activatesAt: number;
  let admin: string;
  const beforeRotation: Minted[] = [];
  const afterActivation: Minted[] = [];

  it('both sign with JWT_PRIVATE_KEY first', async () => {
    admin = await signInAdmin(a);
    beforeRotation.push(await mint(a), await mint(b));
    configured = kidOf(beforeRotation[0]!.token);
    expect(kidOf(beforeRotation[1]!.token)).toBe(configured);
    expect(await jwksKids(a)).toEqual([configured]);
    expect(await jwksKids(b)).toEqual([configured]);
  });

  it('agree on the signing key through a rotation: the new key is published by both at once and signs on both from activatesAt on', async () => {
    const res = await call(a, 'POST', '/admin/keys/rotate', { token: admin });
    expect(res.status).toBe(201);
    expect(res.body.key.signing).toBe(false);
    rotated = res.body.key.kid;
    activatesAt = Date.parse(res.body.key.activatesAt);
    expect(activatesAt - Date.parse(res.body.key.createdAt)).toBe(PUBLISH_DELAY_S * 1000);
    expect(await jwksKids(b)).toEqual([configured, rotated].sort());
    expect(await jwksKids(a)).toEqual([configured, rotated].sort());

    // Tokens from both, alternately, until both have signed with the new key: each is signed by
    // the key its iat says (a token of the second around activatesAt may be either).
    let signedBefore = 0;
    const switched = new Set<string>();
    const waited = await eventually('both processes sign with the new key', PUBLISH_DELAY_S * 1000 + 30_000, async () => {
      for (const [name, server] of [['a', a], ['b', b]] as const) {
        const token = await resign(server, beforeRotation[0]!);
        const iatMs = decodeJwt(token).iat! * 1000;
        const kid = kidOf(token);
        if (iatMs + 1000 <= activatesAt) {
          expect(kid, `${name} signed before activatesAt`).toBe(configured);
          signedBefore++;
        }
        if (iatMs >= activatesAt) expect(kid, `${name} signed after activatesAt`).toBe(rotated);
        if (kid === rotated) switched.add(name);
      }
      return switched.size === 2;
    });
    expect(signedBefore).toBeGreaterThan(0);
    figures.push(`rotation: both switched ${Math.max(0, Date.now() - activatesAt)} ms after activatesAt (waited ${(waited / 1000).toFixed(1)} s)`);

    afterActivation.push(await mint(a), await mint(b));
    for (const minted of afterActivation) expect(kidOf(minted.token)).toBe(rotated);
    const keys = (await call(b, 'GET', '/admin/keys', { token: admin })).body.keys;
    expect(keys.map((k: { kid: string; signing: boolean }) => [k.kid, k.signing])).toEqual([
      [configured, false],
      [rotated, true],
    ]);
  });

  it('verify the tokens of both keys, whichever process minted them, on the identity routes and through the JWKS', async () => {
    for (const minted of [...beforeRotation, ...afterActivation]) {
      expect(await verifyOn(a, minted)).toBe(204);
      expect(await verifyOn(b, minted)).toBe(204);
      for (const server of [a, b]) {
        const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', server.url));
        const { payload } = await jwtVerify(minted.token, jwks, { algorithms: ['ES256'], issuer: ISSUER, audience: 'spacetimedb' });
        expect(payload.hex_identity).toBe(minted.identity);
      }
    }
  });

  it('retire the configured key from either process: the signing key is key_in_use, and the retired key fails everywhere within the cache lifetime', async () => {
    const inUse = await call(b, 'DELETE', `/admin/keys/${rotated}`, { token: admin });
    expect(inUse.status).toBe(400);
    expect(inUse.body.error.code).toBe('key_in_use');

    expect((await call(b, 'DELETE', `/admin/keys/${configured}`, { token: admin })).status).toBe(204);
    const retiredAt = Date.now();
    // The process that retired it refuses its tokens at once…
    for (const minted of beforeRotation) expect(await verifyOn(b, minted)).toBe(401);
    // …the other within KEY_SET_TTL_MS (it may have read the set just before the retirement).
    const late = await eventually('a refuses the retired key', KEY_SET_TTL_MS + 15_000, async () => (await verifyOn(a, beforeRotation[0]!)) === 401);
    expect(Date.now() - retiredAt).toBeLessThan(KEY_SET_TTL_MS + 15_000);
    figures.push(`retirement: the other process refused the key after ${(late / 1000).toFixed(1)} s`);
    expect(await verifyOn(a, beforeRotation[1]!)).toBe(401);
    expect(await jwksKids(a)).toEqual([rotated]);
    expect(await jwksKids(b)).toEqual([rotated]);
    for (const minted of afterActivation) {
      expect(await verifyOn(a, minted)).toBe(204);
      expect(await verifyOn(b, minted)).toBe(204);
    }

    // The configured key's row never held its private key; it records the retirement.
    const [row] = await pair.database.db.select().from(signingKeys).where(eq(signingKeys.kid, configured));
    expect(row).toMatchObject({ privateKeyPem: null, retiredAt: expect.any(Date) });
  });
});
