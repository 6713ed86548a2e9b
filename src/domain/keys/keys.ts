import { eq } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose';
import type { Database } from '../../db/database';
import { signingKeys } from '../../db/schema';
import type { Deps } from '../../deps';

export const SIGNING_ALG = 'ES256';
const DEFAULT_KEY_ID = 'default';

/** The ES256 key that signs identity tokens, with everything needed to publish it. */
export interface SigningKey {
  /** RFC 7638 thumbprint of the public key: stable for a given key, whatever process loads it. */
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public key as a JWKS entry (`kid`, `alg`, `use` set). */
  publicJwk: JWK & { kid: string; alg: string; use: string };
  /** The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
  publicPem: string;
}

// Loaded keys, memoised: a configured key by its PEM, a generated one by the configuration it
// serves (one per process on Node, one per isolate on Workers, where every request has a
// database client of its own). A failed load is dropped so that a later call retries.
const configuredKeys = new Map<string, Promise<SigningKey>>();
const storedKeys = new WeakMap<object, Promise<SigningKey>>();

/**
 * The server's signing key: `JWT_PRIVATE_KEY` when configured, otherwise the key generated on
 * first use and kept in `signing_keys`, so every process sharing the database signs with the
 * same key. Loaded once.
 */
export function getSigningKey(deps: Pick<Deps, 'config' | 'db' | 'clock'>): Promise<SigningKey> {
  const configured = deps.config.jwtPrivateKey;
  if (configured) {
    let key = configuredKeys.get(configured);
    if (!key) {
      key = importSigningKey(configured).catch((error: unknown) => {
        configuredKeys.delete(configured);
        throw error;
      });
      configuredKeys.set(configured, key);
    }
    return key;
  }
  let key = storedKeys.get(deps.config);
  if (!key) {
    key = loadOrCreateStoredKey(deps).catch((error: unknown) => {
      storedKeys.delete(deps.config);
      throw error;
    });
    storedKeys.set(deps.config, key);
  }
  return key;
}

/** Builds the signing key from a PKCS#8 PEM; throws when it is not a P-256 private key. */
export async function importSigningKey(pkcs8Pem: string): Promise<SigningKey> {
  const privateKey = await importPKCS8(pkcs8Pem, SIGNING_ALG, { extractable: true });
  const { kty, crv, x, y } = await exportJWK(privateKey);
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y) throw new Error('the signing key must be an EC P-256 private key');
  const bare: JWK = { kty, crv, x, y };
  const publicKey = (await importJWK(bare, SIGNING_ALG)) as CryptoKey;
  const kid = await calculateJwkThumbprint(bare, 'sha256');
  return {
    kid,
    privateKey,
    publicKey,
    publicJwk: { ...bare, kid, alg: SIGNING_ALG, use: 'sig' },
    publicPem: await exportSPKI(publicKey),
  };
}

async function loadOrCreateStoredKey(deps: Pick<Deps, 'db' | 'clock'>): Promise<SigningKey> {
  const stored = await readStoredKey(deps.db);
  if (stored) return importSigningKey(stored);
  const generated = await generateKeyPair(SIGNING_ALG, { extractable: true });
  // Concurrent first starts may each generate a key; the first insert wins and everyone reads it back.
  await deps.db
    .insert(signingKeys)
    .values({ id: DEFAULT_KEY_ID, privateKeyPem: await exportPKCS8(generated.privateKey), createdAt: deps.clock.now() })
    .onConflictDoNothing({ target: signingKeys.id });
  const winner = await readStoredKey(deps.db);
  if (!winner) throw new Error('signing key vanished between insert and select');
  return importSigningKey(winner);
}

async function readStoredKey(db: Database): Promise<string | undefined> {
  const [row] = await db.select({ pem: signingKeys.privateKeyPem }).from(signingKeys).where(eq(signingKeys.id, DEFAULT_KEY_ID));
  return row?.pem ?? undefined;
}

/** The public key that verifies tokens signed under `kid`, or null when no published key has it. */
export async function findVerificationKey(deps: Pick<Deps, 'config' | 'db' | 'clock'>, kid: string | undefined): Promise<CryptoKey | null> {
  const key = await getSigningKey(deps);
  return kid === key.kid ? key.publicKey : null;
}

/** Every key that may verify a live token, as JWKS entries. */
export async function listPublishedKeys(deps: Pick<Deps, 'config' | 'db' | 'clock'>): Promise<SigningKey['publicJwk'][]> {
  return [(await getSigningKey(deps)).publicJwk];
}
