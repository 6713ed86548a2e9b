import { KeyObject, sign } from 'node:crypto';
import type { Signer } from '../ports/signer';

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

function keyObject(key: CryptoKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) keyObjects.set(key, (object = KeyObject.from(key)));
  return object;
}

interface Job {
  key: KeyObject;
  input: string;
  resolve: (jws: string) => void;
  reject: (error: unknown) => void;
}

let queued: Job[] = [];

function submit(): void {
  const jobs = queued;
  queued = [];
  for (const job of jobs) {
    try {
      // The input is base64url and a dot: ASCII, so Latin-1 is its UTF-8.
      sign('sha256', Buffer.from(job.input, 'latin1'), { key: job.key, dsaEncoding: 'ieee-p1363' }, (error, signature) =>
        error ? job.reject(error) : job.resolve(`${job.input}.${signature.toString('base64url')}`),
      );
    } catch (error) {
      job.reject(error);
    }
  }
}

/**
 * node:crypto's `sign` with a callback: the signature is made on the thread pool, as WebCrypto's
 * is, but without WebCrypto's argument checking and conversions, and with Buffer's native
 * base64url. The signatures asked for during one turn of the event loop are handed to the pool
 * together at its end (`setImmediate`): a pool thread that finds work queued keeps going, where
 * one woken per signature (as a token route's requests arrive, one socket read at a time) cost
 * more than the signature itself, on both threads.
 */
export const nodeSigner: Signer = {
  es256Jws(privateKey, encodedHeader, payloadJson) {
    return new Promise((resolve, reject) => {
      let key: KeyObject;
      try {
        key = keyObject(privateKey);
      } catch (error) {
        reject(error);
        return;
      }
      if (queued.length === 0) setImmediate(submit);
      queued.push({ key, input: `${encodedHeader}.${Buffer.from(payloadJson).toString('base64url')}`, resolve, reject });
    });
  },
};
