/**
 * ES256 signatures (ECDSA on P-256 with SHA-256) in the 64-byte `r || s` form JWS uses. An
 * implementation may answer synchronously (node:crypto on Node) or not (WebCrypto).
 */
export interface Signer {
  signEs256(key: CryptoKey, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** The Web-standard implementation (WebCrypto): the default, and the one Workers use. */
export const webSigner: Signer = {
  async signEs256(key, data) {
    return new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data as BufferSource));
  },
};
