import { and, eq, isNull } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose';
import type { Database } from '../../db/database';
import { signingKeys } from '../../db/schema';
import type { Deps } from '../../deps';

export const SIGNING_ALG = 'ES256';
/** The id of the key generated on first use when `JWT_PRIVATE_KEY` is not configured. */
const DEFAULT_KEY_ID = 'default';
/**
 * How long a process (or Workers isolate) signs and verifies from its copy of the key set before
 * reading `signing_keys` again: the bound on how late another process sees a rotation or a
 * retirement. The process that rotated or retired forgets its copy at once.
 */
export const KEY_SET_TTL_MS = 30_000;
/** A token under a `kid` the copy does not hold reloads the set, at most this often. */
const UNKNOWN_KID_RELOAD_MS = 5_000;

/** An ES256 key that signs or verifies tokens, with everything needed to publish it. */
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

/** One key of the set, with its schedule. */
export interface KeyRecord {
  kid: string;
  createdAt: Date;
  /** When it starts signing; the first key signs whenever no later key does. */
  activatesAt: Date;
  /** Set once an operator retired it: it then neither signs nor verifies. */
  retiredAt: Date | null;
  /** `JWT_PRIVATE_KEY`, or else the generated `default` key. */
  first: boolean;
  /** The loaded key; null for a retired key, which is never loaded. */
  key: SigningKey | null;
}

type KeyDeps = Pick<Deps, 'config' | 'db' | 'clock'>;

interface KeySetCache {
  /** The last loaded set, and when (by `deps.clock`) its load began. */
  current?: { keys: KeyRecord[]; loadedAt: number };
  loading?: Promise<KeyRecord[]>;
  /** Bumped by `forgetKeySet`: a load that began before it does not become `current`. */
  generation: number;
  lastUnknownKidReload: number;
}

// One key set per configuration, that is per process on Node and per isolate on Workers (where
// every request has a database client of its own but the configuration is built once).
const caches = new WeakMap<object, KeySetCache>();
// Imported keys by PEM: a reload imports only keys it has not seen.
const imported = new Map<string, Promise<SigningKey>>();

function cacheOf(deps: Pick<Deps, 'config'>): KeySetCache {
  let cache = caches.get(deps.config);
  if (!cache) caches.set(deps.config, (cache = { generation: 0, lastUnknownKidReload: -Infinity }));
  return cache;
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

function importOnce(pem: string): Promise<SigningKey> {
  let key = imported.get(pem);
  if (!key) {
    // A failed import is dropped so that a later load retries (and fails loudly again).
    key = importSigningKey(pem).catch((error: unknown) => {
      imported.delete(pem);
      throw error;
    });
    imported.set(pem, key);
  }
  return key;
}

/** A new P-256 key as PKCS#8 PEM, loaded. */
export async function generateSigningKey(): Promise<{ pem: string; key: SigningKey }> {
  const generated = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const pem = await exportPKCS8(generated.privateKey);
  return { pem, key: await importOnce(pem) };
}

type KeyRow = typeof signingKeys.$inferSelect;

function readRows(db: Database): Promise<KeyRow[]> {
  return db.select().from(signingKeys);
}

/**
 * Reads the key set from `signing_keys`. The first key is `JWT_PRIVATE_KEY` when configured (its
 * row, added on first load, holds no private key: only its kid, dates and retirement), else the
 * `default` row, generated on first use (its kid is filled in when a database from before
 * rotation first loads it). Every other row holding a private key is a rotated key. Rows that are
 * neither (the generated key while `JWT_PRIVATE_KEY` is set, a former `JWT_PRIVATE_KEY`) are not
 * part of the set.
 */
async function readKeySet(deps: KeyDeps): Promise<KeyRecord[]> {
  let rows = await readRows(deps.db);
  const configured = deps.config.jwtPrivateKey;
  let first: { row: KeyRow; key: SigningKey };
  if (configured) {
    const key = await importOnce(configured);
    let row = rows.find((r) => r.kid === key.kid);
    if (!row) {
      const now = deps.clock.now();
      await deps.db.insert(signingKeys).values({ id: key.kid, kid: key.kid, createdAt: now, activatesAt: now }).onConflictDoNothing();
      rows = await readRows(deps.db);
      row = rows.find((r) => r.kid === key.kid);
      if (!row) throw new Error('the row of JWT_PRIVATE_KEY vanished between insert and select');
    }
    first = { row, key };
  } else {
    let row = rows.find((r) => r.id === DEFAULT_KEY_ID);
    if (!row?.privateKeyPem) {
      // Concurrent first starts may each generate a key; the first insert wins and everyone reads it back.
      const { pem, key } = await generateSigningKey();
      const now = deps.clock.now();
      await deps.db
        .insert(signingKeys)
        .values({ id: DEFAULT_KEY_ID, kid: key.kid, privateKeyPem: pem, createdAt: now, activatesAt: now })
        .onConflictDoNothing({ target: signingKeys.id });
      rows = await readRows(deps.db);
      row = rows.find((r) => r.id === DEFAULT_KEY_ID);
      if (!row?.privateKeyPem) throw new Error('signing key vanished between insert and select');
    }
    const key = await importOnce(row.privateKeyPem);
    if (row.kid === null) {
      await deps.db
        .update(signingKeys)
        .set({ kid: key.kid })
        .where(and(eq(signingKeys.id, DEFAULT_KEY_ID), isNull(signingKeys.kid)));
      row = { ...row, kid: key.kid };
    }
    first = { row, key };
  }

  const records: KeyRecord[] = [recordOf(first.row, first.key.kid, true, first.row.retiredAt ? null : first.key)];
  for (const row of rows) {
    if (row === first.row || row.id === DEFAULT_KEY_ID || !row.privateKeyPem || !row.kid || row.kid === first.key.kid) continue;
    records.push(recordOf(row, row.kid, false, row.retiredAt ? null : await importOnce(row.privateKeyPem)));
  }
  return records.sort((a, b) => Number(b.first) - Number(a.first) || a.activatesAt.getTime() - b.activatesAt.getTime() || a.kid.localeCompare(b.kid));
}

function recordOf(row: KeyRow, kid: string, first: boolean, key: SigningKey | null): KeyRecord {
  return { kid, createdAt: row.createdAt, activatesAt: row.activatesAt, retiredAt: row.retiredAt, first, key };
}

/** Reads the set now (sharing a read already under way that began after the last `forgetKeySet`). */
export function loadKeySet(deps: KeyDeps): Promise<KeyRecord[]> {
  const cache = cacheOf(deps);
  if (cache.loading) return cache.loading;
  const generation = cache.generation;
  const startedAt = deps.clock.now().getTime();
  const loading = readKeySet(deps).then((keys) => {
    if (cache.generation === generation) cache.current = { keys, loadedAt: startedAt };
    return keys;
  });
  cache.loading = loading;
  const clear = () => {
    if (cache.loading === loading) cache.loading = undefined;
  };
  loading.then(clear, clear);
  return loading;
}

/** The set as this process knows it: its copy while younger than `KEY_SET_TTL_MS`, else read again. */
async function knownKeySet(deps: KeyDeps): Promise<KeyRecord[]> {
  const current = cacheOf(deps).current;
  const age = deps.clock.now().getTime() - (current?.loadedAt ?? Number.NaN);
  if (current && age >= 0 && age < KEY_SET_TTL_MS) return current.keys;
  return loadKeySet(deps);
}

/** Drops this process's copy of the set, after a rotation or retirement it made. */
export function forgetKeySet(deps: Pick<Deps, 'config'>): void {
  const cache = cacheOf(deps);
  cache.generation++;
  cache.current = undefined;
  cache.loading = undefined;
}

/**
 * The key that signs at `now`: the newest non-retired rotated key whose `activatesAt` has come,
 * else the first key; should that be retired too (only a race of retirements gets there), the
 * live key that activates soonest.
 */
export function signingRecordOf(keys: readonly KeyRecord[], now: Date): KeyRecord {
  const live = keys.filter((k) => k.key !== null);
  let signing: KeyRecord | undefined;
  for (const k of live) {
    if (k.first || k.activatesAt > now) continue;
    if (!signing || k.activatesAt > signing.activatesAt || (k.activatesAt.getTime() === signing.activatesAt.getTime() && k.createdAt > signing.createdAt)) {
      signing = k;
    }
  }
  signing ??= live.find((k) => k.first) ?? [...live].sort((a, b) => a.activatesAt.getTime() - b.activatesAt.getTime())[0];
  if (!signing) throw new Error('every signing key is retired; rotate to add one');
  return signing;
}

/**
 * The key that signs tokens now (by `deps.clock`), from this process's copy of the key set: no
 * database read while the copy is younger than `KEY_SET_TTL_MS`. A rotated key is in the copy
 * from its publication, so it starts signing at its `activatesAt` in every process that read the
 * set since, without another read.
 */
export async function getSigningKey(deps: KeyDeps): Promise<SigningKey> {
  return signingRecordOf(await knownKeySet(deps), deps.clock.now()).key!;
}

/**
 * The public key that verifies tokens signed under `kid`, or null when no published key has it
 * (unknown or retired). A `kid` this process's copy lacks (a key another process just rotated in)
 * reloads the set, at most once every few seconds.
 */
export async function findVerificationKey(deps: KeyDeps, kid: string | undefined): Promise<CryptoKey | null> {
  if (typeof kid !== 'string') return null;
  const found = (keys: KeyRecord[]) => keys.find((k) => k.kid === kid)?.key?.publicKey ?? null;
  const key = found(await knownKeySet(deps));
  if (key) return key;
  const cache = cacheOf(deps);
  const now = deps.clock.now().getTime();
  if (Math.abs(now - cache.lastUnknownKidReload) < UNKNOWN_KID_RELOAD_MS) return null;
  cache.lastUnknownKidReload = now;
  return found(await loadKeySet(deps));
}

/**
 * Every key that may verify a live token, as JWKS entries: every non-retired key, those not yet
 * signing included. Read from the database on each call (and refreshing this process's copy), so
 * that a key is published by every process the moment it is rotated in.
 */
export async function listPublishedKeys(deps: KeyDeps): Promise<SigningKey['publicJwk'][]> {
  return (await loadKeySet(deps)).flatMap((k) => (k.key ? [k.key.publicJwk] : []));
}
