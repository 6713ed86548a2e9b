import { encodeBase64urlNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import type { Deps } from '../deps';
import type { Clock } from '../ports/clock';
import { webHasher, type Hasher } from '../ports/hasher';
import type { Random } from '../ports/random';

/** The entry's hasher when it gave one (node:crypto on Node), else the Web-standard one. */
const hasherOf = (deps: Pick<Deps, 'hasher'>): Hasher => deps.hasher ?? webHasher;

/**
 * SHA-256 of `data` (UTF-8) as lower-case hex: at once where the hasher answers synchronously
 * (node:crypto), else a promise; callers await either.
 */
export function sha256Hex(deps: Pick<Deps, 'hasher'>, data: string): string | Promise<string> {
  return hasherOf(deps).sha256Hex(data);
}

/** HMAC-SHA-256 of `data` (UTF-8) keyed by `key`, as lower-case hex. */
export async function hmacSha256Hex(deps: Pick<Deps, 'hasher'>, key: Uint8Array, data: string): Promise<string> {
  return hasherOf(deps).hmacSha256Hex(key, data);
}

/**
 * Compares two strings (hashes, MACs) in time that depends only on their lengths: every UTF-16
 * unit is looked at, with no early exit and nothing allocated.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** `bytes` of randomness as base64url without padding. */
export function randomToken(random: Random, bytes = 32): string {
  return encodeBase64urlNoPadding(random.bytes(bytes));
}

/** A uniformly random string of `length` decimal digits. */
export function randomDigits(random: Random, length: number): string {
  const limit = 10 ** length;
  // Reject the top of the uint32 range so every code is equally likely.
  const ceiling = Math.floor(0x1_0000_0000 / limit) * limit;
  for (;;) {
    const [a = 0, b = 0, c = 0, d = 0] = random.bytes(4);
    const n = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    if (n < ceiling) return String(n % limit).padStart(length, '0');
  }
}

/** `bytes` of randomness as lower-case hex. */
export function randomHex(random: Random, bytes: number): string {
  return encodeHexLowerCase(random.bytes(bytes));
}

/** A UUIDv7: time-ordered, so ids sort by creation, with 74 random bits. */
export function newId(deps: { clock: Clock; random: Random }): string {
  const b = deps.random.bytes(16);
  const ms = deps.clock.now().getTime();
  for (let i = 0; i < 6; i++) b[i] = Math.floor(ms / 2 ** (8 * (5 - i))) & 0xff;
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = encodeHexLowerCase(b);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
