import { KeyObject, sign } from 'node:crypto';
import type { Signer } from '../ports/signer';

const keys = new WeakMap<CryptoKey, KeyObject>();

function keyObject(key: CryptoKey): KeyObject {
  let object = keys.get(key);
  if (!object) keys.set(key, (object = KeyObject.from(key)));
  return object;
}

/**
 * node:crypto, synchronously: the same signatures as WebCrypto's (any valid ECDSA signature
 * verifies; they are randomised either way) without a job on the thread pool and a promise
 * back, which together cost more than signing a token.
 */
export const nodeSigner: Signer = {
  signEs256: (key, data) => new Uint8Array(sign('sha256', data, { key: keyObject(key), dsaEncoding: 'ieee-p1363' })),
};
