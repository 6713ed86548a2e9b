import { KeyObject, sign } from 'node:crypto';
import type { Signer } from '../ports/signer';

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

function keyObject(key: CryptoKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) keyObjects.set(key, (object = KeyObject.from(key)));
  return object;
}

/**
 * node:crypto's `sign` with a callback: the signature is made on the thread pool, as WebCrypto's
 * is, but without WebCrypto's argument checking and conversions, which cost the event loop about
 * twice as much per signature here (13–17 µs against 7.5 µs, `bench/`'s machine).
 */
export const nodeSigner: Signer = {
  es256(privateKey, data) {
    return new Promise((resolve, reject) => {
      sign('sha256', data, { key: keyObject(privateKey), dsaEncoding: 'ieee-p1363' }, (error, signature) => (error ? reject(error) : resolve(signature)));
    });
  },
};
