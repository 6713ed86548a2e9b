import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../src/entry/node-signer';
import { webSigner, type Signer } from '../src/ports/signer';
import { createTestContext } from './helpers/app';
import { createTestDatabase } from './helpers/db';

const signers: Record<string, Signer> = { webcrypto: webSigner, 'node:crypto': nodeSigner };
const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

describe('ES256 signers', () => {
  it('sign as JWS wants (r || s, 64 bytes), verifiable by WebCrypto, with a fresh signature each time', async () => {
    const { privateKey, publicKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const data = new TextEncoder().encode('header.payload');
    for (const [name, signer] of Object.entries(signers)) {
      const [a, b] = await Promise.all([signer.es256(privateKey, data), signer.es256(privateKey, data)]);
      expect(a.byteLength, name).toBe(64);
      expect(await crypto.subtle.verify(ES256, publicKey, a as BufferSource, data), name).toBe(true);
      expect(await crypto.subtle.verify(ES256, publicKey, b as BufferSource, data), name).toBe(true);
      expect(Buffer.from(a).equals(Buffer.from(b)), name).toBe(false);
      expect(await crypto.subtle.verify(ES256, publicKey, a as BufferSource, new TextEncoder().encode('header.payloaD')), name).toBe(false);
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
