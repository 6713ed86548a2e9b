import { describeUserAgent } from '../user-agent';
import { KNOWN_AAGUIDS } from './aaguids';

/** Passkey names are 1–64 characters (PATCH /auth/passkeys/:id and registration alike). */
export const PASSKEY_NAME_MAX = 64;

/**
 * The name of a new passkey nobody named: its provider when the AAGUID is a well-known one
 * ("iCloud Keychain", "Windows Hello"), else the browser and platform that registered it
 * ("Chrome on Android"), else "Passkey". Never the account's email.
 */
export function defaultPasskeyName(aaguid: string | undefined, userAgent: string | null): string {
  const known = aaguid ? KNOWN_AAGUIDS[aaguid.toLowerCase()] : undefined;
  return (known ?? describeUserAgent(userAgent) ?? 'Passkey').slice(0, PASSKEY_NAME_MAX);
}
