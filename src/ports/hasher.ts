import { encodeHexLowerCase } from '@oslojs/encoding';

/**
 * SHA-256 and HMAC-SHA-256 of UTF-8 text, as lower-case hex. An implementation may answer
 * synchronously (node:crypto on Node) or not (WebCrypto); callers await either.
 */
export interface Hasher {
  sha256Hex(data: string): string | Promise<string>;
  hmacSha256Hex(key: Uint8Array, data: string): string | Promise<string>;
}

const encoder = new TextEncoder();
/** Imported HMAC keys, per secret: importing costs more than signing. */
const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', secret as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** The Web-standard implementation (WebCrypto): the default, and the one Workers use. */
export const webHasher: Hasher = {
  async sha256Hex(data) {
    return encodeHexLowerCase(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(data))));
  },
  async hmacSha256Hex(key, data) {
    return encodeHexLowerCase(new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(key), encoder.encode(data))));
  },
};
