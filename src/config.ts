import { decodeBase64IgnorePadding, decodeBase64urlIgnorePadding, decodeHex } from '@oslojs/encoding';
import { z } from 'zod';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  smtpUrl: string | undefined;
  /** Where mail goes: through `smtpUrl`, or printed to the log (codes included; development only). */
  mail: 'smtp' | 'log';
  mailFrom: string;
  /** Allowed browser origins (CORS, CSRF, WebAuthn), normalised, first one primary. */
  origins: string[];
  rpId: string;
  rpName: string;
  issuer: string;
  rateLimit: boolean;
  /** Node behind a reverse proxy: take the client address from the last X-Forwarded-For hop. */
  trustProxy: boolean;
  /** Keys code HMACs. Undefined only until the Node entry loads or generates it. */
  authSecret: Uint8Array | undefined;
  jwtPrivateKey: string | undefined;
  tokenAudience: string[];
  adminEmails: string[];
  /** Whether passkey registration and sign-in insist on the authenticator's user verification (UV flag). */
  passkeyUserVerification: 'required' | 'preferred';
  /** Activity rows older than this many days are purged (rows with no account after 30 days). */
  activityRetentionDays: number;
  /**
   * OpenID Connect clients of `OIDC_CLIENTS`, and on a development start the example page's `demo`
   * client (more are registered through `/admin/clients`).
   */
  oidcClients: ConfiguredClient[];
  /** Lifetime of OIDC id and access tokens, in seconds (`ID_TOKEN_TTL`). */
  idTokenTtlSeconds: number;
  /** How long a rotated signing key is published before it signs, in seconds (`KEY_PUBLISH_DELAY`). */
  keyPublishDelaySeconds: number;
}

/** An OpenID Connect client from `OIDC_CLIENTS`; one with a `secret` is confidential. */
export interface ConfiguredClient {
  id: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  type: 'public' | 'confidential';
  secret: string | undefined;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const vars = {
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  MAIL_FROM: z.string().min(3).default('auth@localhost'),
  MAIL: z.enum(['log', 'smtp'], { error: 'must be log or smtp' }).optional(),
  ORIGIN: z.string().optional(),
  RP_ID: z.string().min(1).optional(),
  RP_NAME: z.string().min(1).default('Auth'),
  ISSUER: httpUrl.optional(),
  RATE_LIMIT: z.enum(['on', 'off']).default('on'),
  TRUST_PROXY: z.enum(['on', 'off']).default('off'),
  AUTH_SECRET: z.string().optional(),
  JWT_PRIVATE_KEY: z
    .string()
    .refine((v) => v.includes('-----BEGIN PRIVATE KEY-----'), 'must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)')
    .optional(),
  TOKEN_AUDIENCE: z.string().optional(),
  ADMIN_EMAILS: z.string().optional(),
  PASSKEY_USER_VERIFICATION: z.enum(['required', 'preferred'], { error: 'must be required or preferred' }).default('required'),
  ACTIVITY_RETENTION_DAYS: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of days')
    .transform(Number)
    .refine((days) => days >= 1 && days <= 100_000, 'must be between 1 and 100000 days')
    .default(365),
  OIDC_CLIENTS: z.string().optional(),
  ID_TOKEN_TTL: z.string().optional(),
  KEY_PUBLISH_DELAY: z.string().optional(),
} satisfies Record<string, z.ZodType>;

type Env = Record<string, string | undefined>;

/**
 * Reads the configuration from environment variables. Throws a `ConfigError` naming the first
 * bad variable; empty strings count as unset.
 */
export function parseConfig(env: Env): Config {
  const get = <K extends keyof typeof vars>(name: K): z.output<(typeof vars)[K]> => {
    const raw = env[name] === '' ? undefined : env[name];
    const result = vars[name].safeParse(raw);
    if (!result.success) throw new ConfigError(name, result.error.issues[0]?.message ?? 'invalid value');
    return result.data as z.output<(typeof vars)[K]>;
  };

  const port = get('PORT');
  const databaseUrl = get('DATABASE_URL');
  const local = `http://localhost:${port}`;

  const origins = list(get('ORIGIN')).map((o) => normaliseOrigin('ORIGIN', o));
  if (origins.length === 0) origins.push(local);

  const rpId = get('RP_ID') ?? new URL(origins[0]!).hostname;
  for (const origin of origins) {
    const host = new URL(origin).hostname;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) {
      throw new ConfigError('RP_ID', `"${rpId}" is not the host of ${origin} nor a parent domain of it`);
    }
  }

  const authSecretRaw = get('AUTH_SECRET');
  const authSecret = authSecretRaw === undefined ? undefined : parseSecret(authSecretRaw);
  if (!authSecret && databaseUrl) {
    throw new ConfigError('AUTH_SECRET', 'is required with DATABASE_URL (32+ random bytes, hex or base64)');
  }

  const emailList = z.array(z.email());
  const adminEmails = list(get('ADMIN_EMAILS')).map((e) => e.toLowerCase());
  if (!emailList.safeParse(adminEmails).success) throw new ConfigError('ADMIN_EMAILS', 'must be comma-separated emails');

  const tokenAudience = list(get('TOKEN_AUDIENCE'));
  const issuer = get('ISSUER') ?? local;
  const oidcClients = parseClients(get('OIDC_CLIENTS'));
  // The hosted sign-in page runs on ISSUER's origin, so its passkey ceremony needs RP_ID to cover
  // it. Without configured clients the page, if ever used, offers email codes only.
  const issuerHost = new URL(issuer).hostname;
  const rpCoversIssuer = issuerHost === rpId || issuerHost.endsWith(`.${rpId}`);
  if (oidcClients.length > 0 && !rpCoversIssuer) {
    throw new ConfigError('RP_ID', `"${rpId}" is not the host of ISSUER (${issuer}) nor a parent domain of it; the hosted sign-in page could not use passkeys`);
  }
  // A development start gets the example page's client, so that /demo/oidc works out of the box.
  if (rpCoversIssuer && isDevelopmentIssuer(issuer) && !oidcClients.some((client) => client.id === DEMO_CLIENT_ID)) {
    oidcClients.push(demoClient(issuer));
  }
  const smtpUrl = get('SMTP_URL');
  const mail = get('MAIL') ?? (smtpUrl ? 'smtp' : undefined);
  if (mail === 'smtp' && !smtpUrl) throw new ConfigError('SMTP_URL', 'is required with MAIL=smtp');
  // Codes printed to a production log are a credential leak: a production-like start must choose.
  if (!mail && (databaseUrl || issuer.startsWith('https:'))) {
    throw new ConfigError('SMTP_URL', 'is required with DATABASE_URL or an https ISSUER; set MAIL=log to print mails, codes included, to the log instead');
  }

  return {
    port,
    host: get('HOST'),
    databaseUrl,
    dataDir: get('DATA_DIR'),
    smtpUrl,
    mail: mail ?? 'log',
    mailFrom: get('MAIL_FROM'),
    origins,
    rpId,
    rpName: get('RP_NAME'),
    issuer,
    rateLimit: get('RATE_LIMIT') === 'on',
    trustProxy: get('TRUST_PROXY') === 'on',
    authSecret,
    jwtPrivateKey: get('JWT_PRIVATE_KEY')?.replace(/\\n/g, '\n'),
    tokenAudience: tokenAudience.length > 0 ? tokenAudience : ['spacetimedb'],
    adminEmails,
    passkeyUserVerification: get('PASSKEY_USER_VERIFICATION'),
    activityRetentionDays: get('ACTIVITY_RETENTION_DAYS'),
    oidcClients,
    idTokenTtlSeconds: parseDuration('ID_TOKEN_TTL', get('ID_TOKEN_TTL') ?? '1h', { min: 60, max: 86_400 }),
    keyPublishDelaySeconds: parseDuration('KEY_PUBLISH_DELAY', get('KEY_PUBLISH_DELAY') ?? '10m', { min: 0, max: 30 * 86_400 }),
  };
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `90`, `90s`, `10m`, `1h`, `7d` → seconds, within bounds. */
export function parseDuration(variable: string, value: string, bounds: { min: number; max: number }): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) throw new ConfigError(variable, `"${value}" is not a duration (e.g. 90s, 10m, 1h, 7d)`);
  const seconds = Number(match[1]) * UNIT_SECONDS[(match[2] || 's') as keyof typeof UNIT_SECONDS];
  if (seconds < bounds.min || seconds > bounds.max) {
    throw new ConfigError(variable, `must be between ${bounds.min} s and ${bounds.max} s (got ${seconds} s)`);
  }
  return seconds;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The client id of the OpenID Connect example page (`/demo/oidc`, src/http/demo/oidc.html). */
export const DEMO_CLIENT_ID = 'demo';

/** The example page's URL under `issuer`: its redirect URI and its post-logout redirect URI. */
export const demoPageUrl = (issuer: string): string => `${issuer.replace(/\/+$/, '')}/demo/oidc`;

/** An `http:` ISSUER on a loopback host: a development start (see docs/decisions.md). */
function isDevelopmentIssuer(issuer: string): boolean {
  const url = new URL(issuer);
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * The built-in public client of the example page, added on a development start unless
 * `OIDC_CLIENTS` names a client `demo` itself (which is how another deployment enables the page).
 */
function demoClient(issuer: string): ConfiguredClient {
  const page = demoPageUrl(issuer);
  return { id: DEMO_CLIENT_ID, name: 'OpenID Connect example', redirectUris: [page], postLogoutRedirectUris: [page], type: 'public', secret: undefined };
}

/**
 * Whether a redirect URI may be registered: an absolute `https:` URL, or `http:` on a loopback
 * host (development, RFC 8252), without a fragment.
 */
export function isAllowedRedirectUri(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.hash || value.includes('#') || url.username || url.password) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}

const clientSchema = z.object({
  id: z.string().regex(/^[\w.~:-]{1,128}$/, 'a client id is 1-128 characters of letters, digits and ._~:-'),
  name: z.string().min(1).max(100).optional(),
  redirectUris: z.array(z.string().refine(isAllowedRedirectUri, 'redirect URIs must be https:, or http: on localhost/127.0.0.1/[::1], without a fragment')).min(1),
  postLogoutRedirectUris: z.array(z.string().refine(isAllowedRedirectUri, 'post-logout redirect URIs follow the redirect URI rules')).optional(),
  secret: z.string().min(16, 'a client secret has at least 16 characters').optional(),
});

function parseClients(value: string | undefined): ConfiguredClient[] {
  if (value === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new ConfigError('OIDC_CLIENTS', 'must be a JSON array of clients');
  }
  const parsed = z.array(clientSchema).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError('OIDC_CLIENTS', `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid value'}`);
  }
  const ids = new Set<string>();
  return parsed.data.map((client) => {
    if (ids.has(client.id)) throw new ConfigError('OIDC_CLIENTS', `client id "${client.id}" appears twice`);
    ids.add(client.id);
    return {
      id: client.id,
      name: client.name ?? client.id,
      redirectUris: client.redirectUris,
      postLogoutRedirectUris: client.postLogoutRedirectUris ?? [],
      type: client.secret ? 'confidential' : 'public',
      secret: client.secret,
    };
  });
}

function normaliseOrigin(variable: string, value: string): string {
  const parsed = httpUrl.safeParse(value);
  if (!parsed.success) throw new ConfigError(variable, `"${value}" is not an http(s) origin`);
  const url = new URL(parsed.data);
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new ConfigError(variable, `"${value}" must be an origin (scheme://host[:port]) without a path`);
  }
  return url.origin;
}

/** A secret given as hex (64+ digits) or base64 (standard or url-safe, padding optional); at least 32 bytes. */
export function parseSecret(value: string): Uint8Array {
  const text = value.trim();
  let bytes: Uint8Array | undefined;
  try {
    if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) bytes = decodeHex(text);
    else if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) bytes = decodeBase64IgnorePadding(text);
    else if (/^[A-Za-z0-9_-]+={0,2}$/.test(text)) bytes = decodeBase64urlIgnorePadding(text);
  } catch {
    bytes = undefined;
  }
  if (!bytes) throw new ConfigError('AUTH_SECRET', 'must be hex or base64');
  if (bytes.length < 32) throw new ConfigError('AUTH_SECRET', `must be at least 32 bytes (got ${bytes.length})`);
  return bytes;
}
