import { blake3 } from '@noble/hashes/blake3.js';
import { encodeHexLowerCase } from '@oslojs/encoding';

const encoder = new TextEncoder();

/**
 * The SpacetimeDB identity of a token's `iss` and `sub`, as SpacetimeDB computes it:
 * `c200 ++ blake3(c200 ++ id)[0..4] ++ id` where `id = blake3(iss|sub)[0..26]`, as 64 hex digits.
 */
export function computeIdentity(issuer: string, subject: string): string {
  const id = blake3(encoder.encode(`${issuer}|${subject}`)).subarray(0, 26);
  const prefixed = new Uint8Array(28);
  prefixed.set([0xc2, 0x00]);
  prefixed.set(id, 2);
  const checksum = blake3(prefixed).subarray(0, 4);
  const identity = new Uint8Array(32);
  identity.set([0xc2, 0x00]);
  identity.set(checksum, 2);
  identity.set(id, 6);
  return encodeHexLowerCase(identity);
}
