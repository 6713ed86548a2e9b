/**
 * ES256 signatures (ECDSA on P-256 with SHA-256) in JWS form: `r || s`, 64 bytes (RFC 7518,
 * section 3.4). The key is the WebCrypto key the key set holds.
 */
export interface Signer {
  es256(privateKey: CryptoKey, data: Uint8Array): Promise<Uint8Array>;
}

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** The Web-standard implementation (WebCrypto): the default, and the one Workers use. */
export const webSigner: Signer = {
  async es256(privateKey, data) {
    return new Uint8Array(await crypto.subtle.sign(ES256, privateKey, data as BufferSource));
  },
};
