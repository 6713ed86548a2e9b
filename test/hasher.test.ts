import { describe, expect, it } from 'vitest';
import { nodeHasher } from '../src/entry/node-hasher';
import { webHasher, type Hasher } from '../src/ports/hasher';
import { createTestContext } from './helpers/app';
import { createTestDatabase } from './helpers/db';

const hashers: Record<string, Hasher> = { webcrypto: webHasher, 'node:crypto': nodeHasher };
const text = new TextEncoder();

describe('hashers', () => {
  it('give the standard digests (FIPS 180-2, RFC 4231)', async () => {
    for (const [name, hasher] of Object.entries(hashers)) {
      expect(await hasher.sha256Hex('abc'), name).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect(await hasher.sha256Hex(''), name).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
      expect(await hasher.hmacSha256Hex(text.encode('Jefe'), 'what do ya want for nothing?'), name).toBe(
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      );
    }
  });

  it('agree on every input, non-ASCII and long ones included', async () => {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const inputs = ['otp\na@example.com\n123456', 'é ß 中文 🔑', '\u0000\uffff', 'x'.repeat(10_000), crypto.randomUUID()];
    for (const input of inputs) {
      expect(nodeHasher.sha256Hex(input)).toBe(await webHasher.sha256Hex(input));
      expect(nodeHasher.hmacSha256Hex(key, input)).toBe(await webHasher.hmacSha256Hex(key, input));
    }
    // A key is the key's bytes, whichever Uint8Array holds them.
    expect(nodeHasher.hmacSha256Hex(key.slice(), 'a')).toBe(await webHasher.hmacSha256Hex(key.slice(), 'a'));
    expect(nodeHasher.hmacSha256Hex(key.slice().fill(1), 'a')).not.toBe(nodeHasher.hmacSha256Hex(key, 'a'));
  });

  it('node:crypto answers synchronously', () => {
    expect(typeof nodeHasher.sha256Hex('abc')).toBe('string');
    expect(typeof nodeHasher.hmacSha256Hex(new Uint8Array(32), 'abc')).toBe('string');
  });

  it('are interchangeable: codes and sessions made under one work under the other', async () => {
    const database = await createTestDatabase();
    const web = await createTestContext({}, { database, hasher: webHasher });
    const node = await createTestContext({}, { database, hasher: nodeHasher });
    try {
      for (const [from, to] of [[web, node], [node, web]] as const) {
        // A code's HMAC stored by one is matched by the other, and its session token too.
        const email = `${crypto.randomUUID()}@example.com`;
        await from.request('POST', '/auth/verify', { body: { email } });
        const signedIn = await to.request('POST', '/auth/sessions', { body: { method: 'otp', email, token: from.lastCode(email) } });
        expect(signedIn.status).toBe(201);
        const current = await from.request('GET', '/auth/sessions/current', { token: signedIn.body.token });
        expect(current.status).toBe(200);
        expect(current.body.user.email).toBe(email);
        // A wrong secret is still refused.
        const wrong = `${signedIn.body.token.split('.')[0]}.${'A'.repeat(43)}`;
        expect((await to.request('GET', '/auth/sessions/current', { token: wrong })).status).toBe(401);
      }
    } finally {
      await node.close();
    }
  });
});
