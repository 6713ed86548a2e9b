import { compactVerify, decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { getSigningKey } from '../src/domain/spacetime/keys';
import { nodeSigner } from '../src/entry/node-signer';
import { webSigner, type Signer } from '../src/ports/signer';
import { createTestContext } from './helpers/app';
import { createTestDatabase } from './helpers/db';

const signers: Record<string, Signer> = { webcrypto: webSigner, 'node:crypto': nodeSigner };
const text = new TextEncoder();

describe('ES256 signers', () => {
  it('give 64-byte r||s signatures that WebCrypto verifies, over any input', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    for (const [name, signer] of Object.entries(signers)) {
      for (const input of ['', 'a.b', 'é 中文 🔑', 'x'.repeat(10_000)]) {
        const data = text.encode(input);
        const signature = await signer.signEs256(privateKey, data);
        expect(signature.byteLength, name).toBe(64);
        expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, signature as BufferSource, data), name).toBe(true);
        expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, signature as BufferSource, text.encode(`${input}!`)), name).toBe(false);
      }
    }
  });

  it('node:crypto answers synchronously', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    expect(nodeSigner.signEs256(privateKey, text.encode('abc'))).toBeInstanceOf(Uint8Array);
  });

  it('mint tokens that jose verifies against the JWKS key, under either', async () => {
    const database = await createTestDatabase();
    try {
      for (const [name, signer] of Object.entries(signers)) {
        const t = await createTestContext({}, { database, signer });
        const email = `${crypto.randomUUID()}@example.com`;
        await t.request('POST', '/auth/verify', { body: { email } });
        const session = (await t.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: t.lastCode(email) } })).body.token;
        const minted = await t.request('POST', '/v1/identity/websocket-token', { token: session });
        expect(minted.status, name).toBe(200);
        const token: string = minted.body.token;
        const jwks = (await t.request('GET', '/.well-known/jwks.json')).body as { keys: Array<{ kid: string }> };
        const header = decodeProtectedHeader(token);
        expect(header, name).toEqual({ alg: 'ES256', typ: 'JWT', kid: jwks.keys[0]!.kid });
        const key = await getSigningKey(t.deps);
        await expect(compactVerify(token, key.publicKey), name).resolves.toBeDefined();
        const { payload } = await jwtVerify(token, key.publicKey, { issuer: t.deps.config.issuer, currentDate: t.clock.now() });
        expect(payload.token_use, name).toBe('websocket');
        expect(payload.exp! - payload.iat!, name).toBe(60);
      }
    } finally {
      await database.close();
    }
  });
});
