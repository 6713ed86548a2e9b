import { asc, eq } from 'drizzle-orm';
import type { ConfiguredClient } from '../../config';
import { oauthAuthorizationRequests, oauthClients, oauthCodes, oauthGrants, type OAuthClientRow } from '../../db/schema';
import type { Deps } from '../../deps';
import { constantTimeEqual, randomToken, sha256Hex } from '../crypto';
import { fail, type Result } from '../result';

/** An OpenID Connect client, from `OIDC_CLIENTS` or registered through `/admin/clients`. */
export interface Client {
  id: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  type: 'public' | 'confidential';
  /** Where it is registered: `config` clients cannot be deleted through the API. */
  source: 'config' | 'admin';
}

/** A client with what checks its secret: the configured secret, or the stored hash of a registered one. */
interface StoredClient extends Client {
  secret: { plain: string } | { hash: string } | null;
}

const fromConfig = (client: ConfiguredClient): StoredClient => ({
  id: client.id,
  name: client.name,
  redirectUris: client.redirectUris,
  postLogoutRedirectUris: client.postLogoutRedirectUris,
  type: client.type,
  source: 'config',
  secret: client.secret === undefined ? null : { plain: client.secret },
});

const fromRow = (row: OAuthClientRow): StoredClient => ({
  id: row.id,
  name: row.name,
  redirectUris: row.redirectUris,
  postLogoutRedirectUris: row.postLogoutRedirectUris,
  type: row.type,
  source: 'admin',
  secret: row.secretHash === null ? null : { hash: row.secretHash },
});

const publicView = ({ secret: _secret, ...client }: StoredClient): Client => client;

/** Client ids are short printable strings; anything else is no client, without a query. */
const CLIENT_ID = /^[\w.~:-]{1,128}$/;

async function findStoredClient(deps: Pick<Deps, 'config' | 'db'>, clientId: string): Promise<StoredClient | null> {
  if (!CLIENT_ID.test(clientId)) return null;
  const configured = deps.config.oidcClients.find((client) => client.id === clientId);
  if (configured) return fromConfig(configured);
  const [row] = await deps.db.select().from(oauthClients).where(eq(oauthClients.id, clientId));
  return row ? fromRow(row) : null;
}

/** The client with this id (configured first, then registered), or null. */
export async function findClient(deps: Pick<Deps, 'config' | 'db'>, clientId: string): Promise<Client | null> {
  const client = await findStoredClient(deps, clientId);
  return client && publicView(client);
}

/** Every client: the configured ones, then the registered ones by creation. */
export async function listClients(deps: Pick<Deps, 'config' | 'db'>): Promise<Client[]> {
  const rows = await deps.db.select().from(oauthClients).orderBy(asc(oauthClients.createdAt), asc(oauthClients.id));
  return [...deps.config.oidcClients.map(fromConfig), ...rows.map(fromRow)].map(publicView);
}

export interface NewClient {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  type: 'public' | 'confidential';
}

/**
 * Registers a client. A confidential client gets a random 256-bit secret, returned here once;
 * only its SHA-256 is stored.
 */
export async function createClient(
  deps: Pick<Deps, 'db' | 'clock' | 'random' | 'hasher'>,
  input: NewClient,
): Promise<{ client: Client; secret: string | null }> {
  const secret = input.type === 'confidential' ? randomToken(deps.random, 32) : null;
  const [row] = await deps.db
    .insert(oauthClients)
    .values({
      id: randomToken(deps.random, 16),
      name: input.name,
      type: input.type,
      secretHash: secret === null ? null : await sha256Hex(deps, secret),
      redirectUris: input.redirectUris,
      postLogoutRedirectUris: input.postLogoutRedirectUris,
      createdAt: deps.clock.now(),
    })
    .returning();
  return { client: publicView(fromRow(row!)), secret };
}

/**
 * Deletes a registered client and, in the same transaction, every grant it holds (their refresh
 * tokens cascade), its codes and its pending authorization requests. `not_found` for an unknown
 * id; `invalid_request` for a client of `OIDC_CLIENTS`, which only the configuration removes.
 */
export async function deleteClient(deps: Pick<Deps, 'db' | 'config'>, clientId: string): Promise<Result<object, 'not_found' | 'invalid_request'>> {
  if (deps.config.oidcClients.some((client) => client.id === clientId)) {
    return fail('invalid_request', 'This client is configured in OIDC_CLIENTS; remove it there.');
  }
  const deleted = await deps.db.transaction(async (tx) => {
    const [row] = await tx.delete(oauthClients).where(eq(oauthClients.id, clientId)).returning({ id: oauthClients.id });
    if (!row) return false;
    await tx.delete(oauthGrants).where(eq(oauthGrants.clientId, clientId));
    await tx.delete(oauthCodes).where(eq(oauthCodes.clientId, clientId));
    await tx.delete(oauthAuthorizationRequests).where(eq(oauthAuthorizationRequests.clientId, clientId));
    return true;
  });
  return deleted ? { ok: true } : fail('not_found', 'No such client.');
}

/** How a client authenticated at the token or revocation endpoint. */
export interface ClientCredentials {
  clientId: string;
  /** Null when no secret came (a public client). */
  secret: string | null;
}

/**
 * The client behind the credentials, or null: unknown (or deleted) client, a confidential client
 * without its secret or with a wrong one, or a public client that sent a secret. Secrets are
 * compared as SHA-256 hashes in constant time.
 */
export async function authenticateClient(deps: Pick<Deps, 'config' | 'db' | 'hasher'>, credentials: ClientCredentials): Promise<Client | null> {
  const client = await findStoredClient(deps, credentials.clientId);
  if (!client) return null;
  if (client.secret === null) return credentials.secret === null ? publicView(client) : null;
  if (credentials.secret === null) return null;
  const presented = await sha256Hex(deps, credentials.secret);
  const expected = 'hash' in client.secret ? client.secret.hash : await sha256Hex(deps, client.secret.plain);
  return constantTimeEqual(presented, expected) ? publicView(client) : null;
}

const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);

/**
 * Whether `uri` is one of the client's redirect URIs: the same string, or, for a registered
 * `http:` loopback IP literal, the same URI on any port (RFC 8252 §7.3).
 */
export function isRegisteredRedirectUri(registered: readonly string[], uri: string): boolean {
  if (registered.includes(uri)) return true;
  const presented = parseUrl(uri);
  if (!presented || presented.protocol !== 'http:' || !LOOPBACK_IPS.has(presented.hostname) || presented.hash) return false;
  return registered.some((candidate) => {
    const url = parseUrl(candidate);
    return (
      url !== null &&
      url.protocol === 'http:' &&
      url.hostname === presented.hostname &&
      url.pathname === presented.pathname &&
      url.search === presented.search &&
      // Only the port may differ, so the rest of the string must be the registered one's.
      withoutPort(url) === withoutPort(presented)
    );
  });
}

function withoutPort(url: URL): string {
  const copy = new URL(url.href);
  copy.port = '';
  return copy.href;
}

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/** Whether a browser origin is the origin of a redirect URI of some client (loopback IPs on any port). */
export async function isClientOrigin(deps: Pick<Deps, 'config' | 'db'>, origin: string): Promise<boolean> {
  const url = parseUrl(origin);
  if (!url || url.origin !== origin) return false;
  const matches = (redirectUri: string) => {
    const target = parseUrl(redirectUri);
    if (!target) return false;
    if (target.origin === origin) return true;
    return target.protocol === 'http:' && url.protocol === 'http:' && LOOPBACK_IPS.has(target.hostname) && target.hostname === url.hostname;
  };
  if (deps.config.oidcClients.some((client) => client.redirectUris.some(matches))) return true;
  const rows = await deps.db.select({ redirectUris: oauthClients.redirectUris }).from(oauthClients);
  return rows.some((row) => row.redirectUris.some(matches));
}
