import type { Config } from './config';
import type { Database } from './db/database';
import type { Clock } from './ports/clock';
import type { Hasher } from './ports/hasher';
import type { Logger } from './ports/logger';
import type { Mailer } from './ports/mailer';
import type { Random } from './ports/random';
import type { SessionCache } from './ports/session-cache';
import type { Signer } from './ports/signer';

/** Everything the domain needs from the outside world; built by an entry, never global. */
export interface Deps {
  config: Config & { authSecret: Uint8Array };
  db: Database;
  mailer: Mailer;
  clock: Clock;
  random: Random;
  log: Logger;
  /** SHA-256 and HMAC; WebCrypto when absent (Workers, tests), node:crypto on the Node server. */
  hasher?: Hasher;
  /** ES256 signing of tokens; WebCrypto when absent (Workers, tests), node:crypto on the Node server. */
  signer?: Signer;
  /** Runs work after the response (mail). Node: fire and forget; Workers: `ctx.waitUntil`. */
  background(task: Promise<unknown>): void;
  /**
   * Recent session checks, for a process told of every session and account change (Node, fed by
   * LISTEN/NOTIFY). Absent (Workers, tests by default): every check reads the database.
   */
  sessionCache?: SessionCache;
}

/** Who made the request, recorded on sessions and activity. */
export interface RequestMeta {
  ipAddress: string | null;
  userAgent: string | null;
}
