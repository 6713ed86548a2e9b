import { base64url } from 'jose';

/**
 * ES256 (ECDSA on P-256 with SHA-256) JSON Web Signatures in compact serialization (RFC 7515,
 * section 7.1): `header.payload.signature`, the signature as `r || s` (RFC 7518, section 3.4).
 * The key is the WebCrypto key the key set holds.
 */
export interface Signer {
  /** The compact JWS of `payloadJson` (JSON text) under `encodedHeader` (already base64url). */
  es256Jws(privateKey: CryptoKey, encodedHeader: string, payloadJson: string): Promise<string>;
}

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const encoder = new TextEncoder();

/** The Web-standard implementation (WebCrypto, jose's base64url): the default, and the one Workers use. */
export const webSigner: Signer = {
  async es256Jws(privateKey, encodedHeader, payloadJson) {
    const input = `${encodedHeader}.${base64url.encode(payloadJson)}`;
    const signature = new Uint8Array(await crypto.subtle.sign(ES256, privateKey, encoder.encode(input)));
    return `${input}.${base64url.encode(signature)}`;
  },
};
