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
  };
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
