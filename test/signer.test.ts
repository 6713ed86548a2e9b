import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../src/entry/node-signer';
import { webSigner, type Signer } from '../src/ports/signer';
import { createTestContext } from './helpers/app';
import { createTestDatabase } from './helpers/db';

const signers: Record<string, Signer> = { webcrypto: webSigner, 'node:crypto': nodeSigner };
const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

describe('ES256 signers', () => {
  it('make compact JWS (r || s, 64 bytes), verifiable by WebCrypto, with a fresh signature each time', async () => {
    const { privateKey, publicKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
    const payload = JSON.stringify({ sub: 'ünïcode ✓', n: 1 });
    for (const [name, signer] of Object.entries(signers)) {
      const [a, b] = await Promise.all([signer.es256Jws(privateKey, header, payload), signer.es256Jws(privateKey, header, payload)]);
      for (const jws of [a, b]) {
        const [h, p, signature] = jws.split('.') as [string, string, string];
        expect(h, name).toBe(header);
        expect(Buffer.from(p, 'base64url').toString(), name).toBe(payload);
        expect(Buffer.from(signature, 'base64url').byteLength, name).toBe(64);
        expect(await crypto.subtle.verify(ES256, publicKey, Buffer.from(signature, 'base64url'), new TextEncoder().encode(`${h}.${p}`)), name).toBe(true);
        expect(await crypto.subtle.verify(ES256, publicKey, Buffer.from(signature, 'base64url'), new TextEncoder().encode(`${h}.${p}x`)), name).toBe(false);
      }
      expect(a, name).not.toBe(b);
    }
  });

  it('node:crypto: signatures asked for in one turn of the event loop are made together, each its own, and a failing one fails alone', async () => {
    const { privateKey, publicKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const header = Buffer.from('{"alg":"ES256"}').toString('base64url');
    // A public key cannot sign: node:crypto refuses it, for that signature only.
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => nodeSigner.es256Jws(i === 17 ? publicKey : privateKey, header, JSON.stringify({ i }))),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[17]!.status).toBe('rejected');
    for (const [i, result] of results.entries()) {
      if (i === 17) continue;
      expect(result.status).toBe('fulfilled');
      const [h, p, signature] = (result as PromiseFulfilledResult<string>).value.split('.') as [string, string, string];
      expect(JSON.parse(Buffer.from(p, 'base64url').toString())).toEqual({ i });
      expect(await crypto.subtle.verify(ES256, publicKey, Buffer.from(signature, 'base64url'), new TextEncoder().encode(`${h}.${p}`))).toBe(true);
    }
  });

  it('are interchangeable: a websocket token signed by node:crypto verifies against the published JWKS and on the identity routes', async () => {
    // Two apps on one database: the same key set, one signing through node:crypto, one through WebCrypto.
    const database = await createTestDatabase();
    const node = await createTestContext({}, { database, signer: nodeSigner });
    const web = await createTestContext({}, { database, signer: webSigner });
    try {
      const { token: session, user } = await node.signIn();
      const minted = await node.request('POST', '/v1/identity/websocket-token', { token: session });
      expect(minted.status).toBe(200);
      const jwks = await web.request('GET', '/.well-known/jwks.json');
      const { payload, protectedHeader } = await jwtVerify(minted.body.token, createLocalJWKSet(jwks.body), { algorithms: ['ES256'] });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({ sub: user.id, hex_identity: user.identity, token_use: 'websocket' });
      // The other app takes it as its own, and mints from it too.
      expect((await web.request('GET', `/v1/identity/${user.identity}/verify`, { token: minted.body.token })).status).toBe(204);
      const again = await web.request('POST', '/v1/identity/websocket-token', { token: session });
      expect((await node.request('GET', `/v1/identity/${user.identity}/verify`, { token: again.body.token })).status).toBe(204);
    } finally {
      await node.close();
    }
  });
});
